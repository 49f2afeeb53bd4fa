// oscserver's web console: every control, built from the address table the server sends,
// live values and meters, and the session's story. No framework, no build step.
//
// The socket (/console/ws) speaks JSON (oscserver/adapters/console_hub.py): the server sends
// {hello}, then {values}, {status}, {story}, {beat}, {error}; the page sends {osc: [address,
// args...]}, applied exactly as the same OSC message over UDP.
"use strict";

const STORY_KEPT = 200;
const $ = (id) => document.getElementById(id);

let socket = null;
let retry = 500; // ms before reconnecting, doubled up to 8 s
let settings = {};
let beats = 0;

// --- the socket ---------------------------------------------------------------------------

function connect() {
  socket = new WebSocket(`ws://${location.host}/console/ws`);
  socket.onopen = () => {
    retry = 500;
    showSocket(true);
  };
  socket.onclose = () => {
    showSocket(false);
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 8000);
  };
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.hello) hello(frame.hello);
    if (frame.values) showValues(frame.values);
    if (frame.status) showStatus(frame.status);
    if (frame.story) tell(frame.story);
    if (frame.beat) beat(frame.beat, frame.at);
    if (frame.error) toast(frame.error, true);
  };
}

function send(address, ...args) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ osc: [address, ...args] }));
  }
}

function showSocket(open) {
  const pill = $("socket");
  pill.textContent = open ? "console connected" : "console disconnected: retrying";
  pill.classList.toggle("off", !open);
}

// --- the controls, from the address table --------------------------------------------------

function hello(data) {
  settings = data.settings || {};
  buildPlayback(data.controls.playback);
  buildPrompts(data.controls.prompts);
  buildValues($("music-controls"), data.controls.music);
  buildValues($("settings-controls"), data.controls.settings);
  buildScenes(data.controls.scenes);
  showValues(data.values);
  showStatus(data.status);
  $("timeline").replaceChildren();
  tell(data.story.slice().reverse());
  const about = [];
  if (settings.engine) about.push(`music from ${settings.engine}`);
  if (settings.output) about.push(`played to ${settings.output}`);
  if (settings.target) about.push(`buffer target ${settings.target} s`);
  $("about").textContent = about.join("; ");
  if (settings.target) $("buffer").max = Math.max(2 * settings.target, 1);
}

function buildPlayback(buttons) {
  const nav = $("playback-buttons");
  nav.replaceChildren();
  for (const b of buttons) {
    const button = element("button", { type: "button", title: b.description, "data-path": b.path });
    button.textContent = b.label;
    button.addEventListener("click", () => send(b.path));
    nav.append(button);
  }
}

function buildScenes(scenes) {
  const holder = $("scene-buttons");
  holder.replaceChildren();
  const seconds = $("scene-seconds");
  seconds.max = scenes.seconds.max;
  for (let n = 1; n <= scenes.count; n++) {
    const recall = scenes.recall.path.replace("{scene}", n);
    const store = scenes.store.path.replace("{scene}", n);
    const button = element("button", {
      type: "button", "data-path": recall, "data-store": store, title: scenes.recall.description,
    });
    button.textContent = n;
    button.addEventListener("click", () => {
      if ($("scene-store").checked) {
        send(store);
        $("scene-store").checked = false;
        toast(`scene ${n} stored`, false);
      } else {
        send(recall, Number(seconds.value) || 0);
      }
    });
    holder.append(button);
  }
}

function buildPrompts(prompts) {
  const rows = $("prompt-rows");
  rows.replaceChildren();
  const w = prompts.weight;
  for (let slot = 1; slot <= prompts.slots; slot++) {
    const textPath = prompts.text.path.replace("{slot}", slot);
    const weightPath = w.path.replace("{slot}", slot);
    const row = element("div", { class: "prompt" });
    const number = element("span", { class: "slot" });
    number.textContent = slot;
    const text = element("input", {
      type: "text", placeholder: "genre, instrument, mood", title: prompts.text.description,
      "data-path": textPath, "aria-label": `prompt ${slot} text`,
    });
    text.addEventListener("change", () => send(textPath, text.value));
    const slider = element("input", {
      type: "range", min: w.min, max: w.max, step: 0.01, value: w.default, title: w.description,
      "data-path": weightPath, "aria-label": `prompt ${slot} weight`,
    });
    const shown = element("output", { class: "number" });
    shown.textContent = Number(w.default).toFixed(2);
    const glide = element("input", {
      type: "number", min: w.glide ? w.glide.min : 0, max: w.glide ? w.glide.max : 0, step: 0.5,
      value: 0, class: "glide", title: "seconds to glide to a new weight (0: at once)",
      "aria-label": `prompt ${slot} glide seconds`,
    });
    busyWhileHeld(slider);
    slider.addEventListener("input", () => {
      shown.textContent = Number(slider.value).toFixed(2);
      if (!(Number(glide.value) > 0)) sendSoon(weightPath, () => [Number(slider.value)]);
    });
    slider.addEventListener("change", () => {
      const seconds = Number(glide.value);
      if (seconds > 0) send(weightPath, Number(slider.value), seconds);
    });
    slider.show = (value) => {
      slider.value = value;
      shown.textContent = Number(value).toFixed(2);
    };
    const seconds = element("span", { class: "unit" });
    seconds.textContent = "s";
    row.append(number, text, slider, shown, glide, seconds);
    rows.append(row);
  }
}

function buildValues(holder, controls) {
  holder.replaceChildren();
  for (const c of controls) holder.append(valueControl(c));
}

function valueControl(c) {
  const row = element("div", { class: "control", title: c.description });
  const label = element("label");
  label.textContent = c.label;
  row.append(label);
  let input;
  let read;
  if (c.kind === "bool") {
    input = element("input", { type: "checkbox", "data-path": c.path, "aria-label": c.label });
    input.addEventListener("change", () => send(c.path, input.checked ? 1 : 0));
    input.show = (value) => { input.checked = value === true || value === 1; };
    row.append(input);
  } else if (c.kind === "enum") {
    input = element("select", { "data-path": c.path, "aria-label": c.label });
    for (const choice of c.choices) {
      const option = element("option", { value: choice });
      option.textContent = choice.toLowerCase().replaceAll("_", " ");
      input.append(option);
    }
    input.addEventListener("change", () => send(c.path, input.value));
    input.show = (value) => { if (value !== null) input.value = value; };
    row.append(input);
  } else {
    const step = c.kind === "int" ? 1 : (c.max - c.min) / 200;
    const start = c.default !== null ? c.default : (c.min + c.max) / 2;
    input = element("input", {
      type: "range", min: c.min, max: c.max, step: step, value: start,
      "data-path": c.path, "aria-label": c.label,
    });
    const shown = element("output", { class: "number" });
    read = () => (c.kind === "int" ? Math.round(Number(input.value)) : Number(input.value));
    shown.textContent = format(read(), c.kind);
    busyWhileHeld(input);
    input.addEventListener("input", () => {
      shown.textContent = format(read(), c.kind);
      if (c.kind === "int") return; // (an int, a bpm: sent when let go, each is a reset)
      sendSoon(c.path, () => [read()]);
    });
    input.addEventListener("change", () => { if (c.kind === "int") send(c.path, read()); });
    row.append(input, shown);
    input.show = (value) => {
      if (value === null) {
        shown.textContent = "auto";
        return;
      }
      input.value = value;
      shown.textContent = format(value, c.kind);
    };
  }
  if (c.auto) {
    // "Let the model decide": sends auto; unticked, the control's own value again.
    const auto = element("input", {
      type: "checkbox", class: "auto", "data-auto": c.path, "aria-label": `${c.label}: auto`,
      title: "let the model decide",
    });
    const autoLabel = element("label", { class: "auto-label" });
    autoLabel.append(auto, document.createTextNode(" auto"));
    auto.addEventListener("change", () => {
      input.disabled = auto.checked;
      send(c.path, auto.checked ? "auto" : (read ? read() : input.value));
    });
    const show = input.show;
    input.show = (value) => {
      auto.checked = value === null;
      input.disabled = auto.checked;
      show(value);
    };
    row.append(autoLabel);
  }
  return row;
}

// A control the user holds (dragging a slider) is not moved by the values coming back.
function busyWhileHeld(input) {
  const hold = () => { input.dataset.held = "1"; };
  const release = () => { delete input.dataset.held; };
  input.addEventListener("pointerdown", hold);
  input.addEventListener("pointerup", release);
  input.addEventListener("pointercancel", release);
  input.addEventListener("blur", release);
}

// At most one message per address per animation frame while a slider moves.
const soon = new Map();
function sendSoon(address, args) {
  if (!soon.has(address)) {
    requestAnimationFrame(() => {
      const make = soon.get(address);
      soon.delete(address);
      send(address, ...make());
    });
  }
  soon.set(address, args);
}

function showValues(values) {
  for (const [path, value] of Object.entries(values)) {
    const input = document.querySelector(`[data-path="${CSS.escape(path)}"]`);
    if (!input || input.dataset.held || input === document.activeElement && input.type === "text") {
      continue;
    }
    if (input.show) input.show(value);
    else if (input.type === "text") input.value = value === null ? "" : value;
  }
}

// --- meters, beat and story -----------------------------------------------------------------

function showStatus(s) {
  $("link").textContent = s.link;
  $("link").classList.toggle("off", !String(s.link).startsWith("connected"));
  $("playback").textContent = s.playback;
  $("level").value = s.peak;
  $("level-text").textContent = s.peak.toFixed(2);
  $("buffer").value = s.buffer_seconds;
  const target = settings.target ? ` of ${settings.target}` : "";
  $("buffer-text").textContent = `${s.buffer_seconds.toFixed(2)}${target} s`;
  $("stretch").textContent = s.stretch.toFixed(3);
  $("bridged").textContent = `${s.bridged.toFixed(1)} s`;
  $("underruns").textContent = s.underruns;
  $("xruns").textContent = s.xruns;
  $("osc-in").textContent = s.osc_messages;
  $("osc-refused").textContent = s.osc_refused;
  $("tempo").textContent = s.tempo ? `${s.tempo.toFixed(1)} bpm${s.steady ? "" : " (unsteady)"}` : "-";
  $("heard").textContent = s.heard ? `${s.heard.toFixed(2)} s` : "-";
  $("output-state").textContent = s.output;
  $("clock-tempo").textContent = s.clock_tempo ? `${s.clock_tempo.toFixed(1)} bpm` : "-";
  $("lock").textContent = s.lock ? `${s.lock} (${(s.lock_error * 1000).toFixed(1)} ms)` : "-";
}

function beat(args, at) {
  const [bar, number, bpm] = args;
  const flash = () => {
    beats += 1;
    const box = $("beat");
    box.dataset.beats = beats;
    $("beat-text").textContent = `${bar}.${number}  ${Number(bpm).toFixed(1)} bpm`;
    const light = $("beat-light");
    light.classList.toggle("downbeat", number === 1);
    light.classList.add("on");
    setTimeout(() => light.classList.remove("on"), 100);
  };
  const wait = at ? at * 1000 - Date.now() : 0; // (a lookahead: the beat's own moment)
  if (wait > 0) setTimeout(flash, wait);
  else flash();
}

function tell(entries) {
  // Oldest first in the list given: each goes on top, so the newest ends first.
  const list = $("timeline");
  for (const e of entries) {
    const item = element("li", { class: `story-${e.kind}`, "data-kind": e.kind });
    const when = element("time", { datetime: new Date(e.at * 1000).toISOString() });
    when.textContent = new Date(e.at * 1000).toLocaleTimeString();
    const kind = element("span", { class: "kind" });
    kind.textContent = e.kind;
    const text = element("span", { class: "text" });
    text.textContent = e.text;
    item.append(when, kind, text);
    list.prepend(item);
  }
  while (list.children.length > STORY_KEPT) list.lastElementChild.remove();
}

let toastTimer = 0;
function toast(text, error) {
  const box = $("toast");
  box.textContent = text;
  box.classList.toggle("error", Boolean(error));
  box.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("shown"), 6000);
}

// --- helpers --------------------------------------------------------------------------------

function element(tag, attributes = {}) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function format(value, kind) {
  return kind === "int" ? String(Math.round(value)) : Number(value).toFixed(2);
}

connect();
