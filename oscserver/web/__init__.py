"""What oscserver serves to browsers (the web console's page)."""
