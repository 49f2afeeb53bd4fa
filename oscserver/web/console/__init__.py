"""The web console's page: static HTML, CSS and JavaScript, served by adapters/console_hub.py."""
