// The Studio's Inspect tab: recorded sessions (the config's `recording:` section, off by default).
// Each one: its audio (left the microphone, right the agent), a timeline of both voices with the
// turn-taking events on it, the conversation as it was heard, and the latency waterfall per turn.
// Uses studio.js's api(), el(), notice(), authHeaders() and the talk page's waterfall.js.
"use strict";

const inspect = (window.studioInspect = { recordings: [], current: null, peaks: null, duration: 0 });

const MARKS = {
  turn_ended: ["turn", "end of the user's turn"],
  interruption: ["cut", "the user cut in: the agent stopped"],
  agent_paused: ["pause", "the agent paused for the user's voice"],
  agent_resumed: ["resume", "the agent went on (a backchannel, not a turn)"],
  tool_called: ["tool", "tool call"],
  flow_moved: ["flow", "flow step"],
  turn_skipped: ["skip", "not answered"],
  turn_held: ["held", "waited: the words sounded unfinished"],
  error: ["error", "error"],
};

const clock = (t) => {
  const s = Math.max(0, t);
  return `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, "0")}`;
};

function when(epoch) {
  return new Date(epoch * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

async function loadRecordings(keep) {
  let result;
  try { result = await api("recordings"); } catch (e) { notice("Recordings: " + e.message, true); return; }
  inspect.recordings = result.recordings || [];
  $("rec-state").textContent = result.enabled
    ? `Recording is on: each new conversation is kept in ${result.path}.`
    : `Recording is off (the default): turn on “recording → enabled” in Build and save to keep new conversations. Folder: ${result.path}.`;
  $("recordings").replaceChildren(...inspect.recordings.map((r) => {
    const live = r.ended === null;
    const open = el("button", { type: "button", class: "rec-open", "data-id": r.id, "aria-current": String(inspect.current === r.id) },
      el("strong", {}, when(r.started)), " ", el("span", { class: live ? "live" : "state" }, live ? "live" : `${Math.round(r.duration_s)} s`),
      el("br"), el("span", { class: "state" }, `${r.agent} · ${r.turns} turn${r.turns === 1 ? "" : "s"}${r.interruptions ? ` · ${r.interruptions} cut in` : ""}`),
      el("br"), el("span", { class: "words" }, r.first_words ? `“${r.first_words}”` : "(nothing said)"));
    open.addEventListener("click", () => openRecording(r.id));
    return el("li", {}, open);
  }));
  if (!inspect.recordings.length) $("recordings").append(el("li", { class: "state" }, "No recorded conversations."));
  if (!keep || !inspect.recordings.some((r) => r.id === inspect.current)) closeRecording();
}

function closeRecording() {
  inspect.current = null;
  $("recording").hidden = true;
  const audio = $("rec-audio");
  audio.pause();
  if (audio.src.startsWith("blob:")) URL.revokeObjectURL(audio.src);
  audio.removeAttribute("src");
}

async function openRecording(id) {
  let got;
  try { got = await api("recordings/" + encodeURIComponent(id)); } catch (e) { notice(e.message, true); return loadRecordings(); }
  closeRecording();
  inspect.current = id;
  inspect.events = got.events;
  const r = got.recording;
  inspect.start = r.audio ? r.audio.start_t : 0;
  const last = got.events.length ? got.events[got.events.length - 1].t : inspect.start;
  inspect.duration = Math.max(last - inspect.start, r.duration_s || 0, 0.1);
  inspect.peaks = null;
  document.querySelectorAll(".rec-open").forEach((b) => b.setAttribute("aria-current", String(b.dataset.id === id)));
  $("rec-title").textContent = `${r.agent} — ${when(r.started)}`;
  const p = r.providers || {};
  $("rec-meta").textContent = [r.ended === null ? "still live (what was written so far)" : `${r.duration_s} s, ended: ${r.reason}`,
    r.user ? `user ${r.user}` : "", `ears ${p.stt} · brain ${p.llm} · voice ${p.tts}`].filter(Boolean).join(" · ");
  $("recording").hidden = false;
  renderTranscript(got.events);
  renderWaterfall(got.events);
  renderTimeline();
  $("rec-audio").hidden = !r.has_audio;
  $("rec-download").hidden = !r.has_audio;
  if (r.has_audio) await loadAudio(id);
}

async function loadAudio(id) {
  const response = await fetch(`/studio/api/recordings/${encodeURIComponent(id)}/audio`, { headers: authHeaders() });
  if (!response.ok || inspect.current !== id) return;
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  $("rec-audio").src = url;
  $("rec-download").href = url;
  $("rec-download").download = id + ".wav";
  try {
    const decoded = await new OfflineAudioContext(2, 1, 16000).decodeAudioData(await blob.arrayBuffer());
    if (inspect.current !== id) return;
    inspect.duration = Math.max(inspect.duration, decoded.duration);
    inspect.peaks = [0, 1].map((c) => peaks(decoded.getChannelData(Math.min(c, decoded.numberOfChannels - 1)), 1200));
    renderTimeline();
  } catch (e) { /* the timeline stays without the waveform */ }
}

function peaks(samples, n) {
  const out = new Float32Array(n);
  const per = Math.max(1, Math.floor(samples.length / n));
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = i * per, end = Math.min(samples.length, j + per); j < end; j++) m = Math.max(m, Math.abs(samples[j]));
    out[i] = m;
  }
  return out;
}

// ---- the timeline ----------------------------------------------------------------------------------

function spans(events, startType, stopType, from) {
  const out = [];
  let open = null;
  for (const e of events) {
    if (e.type === startType) open = from(e);
    else if (e.type === stopType && open !== null) { out.push([open, e.type === "user_speech_stopped" ? e.speech_end : e.t, e]); open = null; }
  }
  if (open !== null) out.push([open, inspect.start + inspect.duration, null]);
  return out;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function renderTimeline() {
  const box = $("timeline");
  const width = Math.max(300, box.clientWidth || 900);
  const lane = 36, top = 18, height = top + lane * 2 + 34;
  const x = (t) => ((t - inspect.start) / inspect.duration) * (width - 60) + 56;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "timeline of the conversation: your voice, the agent's voice and the events" });
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300].find((s) => inspect.duration / s <= 12) || 600;
  for (let s = 0; s <= inspect.duration; s += step) {
    root.append(svg("line", { x1: x(inspect.start + s), x2: x(inspect.start + s), y1: top - 4, y2: height - 8, class: "grid" }),
      svg("text", { x: x(inspect.start + s) + 2, y: 11, class: "axis" }, clock(s)));
  }
  [["you", 0], ["agent", 1]].forEach(([name, i]) => {
    const y = top + i * lane;
    root.append(svg("text", { x: 4, y: y + lane / 2 + 4, class: "lane-name" }, name));
    const kind = i === 0 ? spans(inspect.events, "user_speech_started", "user_speech_stopped", (e) => e.speech_start)
      : spans(inspect.events, "agent_speech_started", "agent_speech_stopped", (e) => e.t);
    for (const [a, b, stop] of kind) {
      const cut = stop && stop.interrupted;
      root.append(svg("rect", { x: x(a), y: y + 4, width: Math.max(1, x(b) - x(a)), height: lane - 8, rx: 3,
        class: `span-${name}${cut ? " cut" : ""}`, "data-lane": name },
        svg("title", {}, `${name}: ${clock(a - inspect.start)}–${clock(b - inspect.start)}${cut ? " (cut off)" : ""}`)));
    }
    if (inspect.peaks) {
      const data = inspect.peaks[i], mid = y + lane / 2;
      let d = "";
      for (let k = 0; k < data.length; k++) {
        const px = 56 + (k / data.length) * (width - 60), h = Math.min(1, data[k] * 2) * (lane / 2 - 3);
        d += `M${px.toFixed(1)} ${(mid - h).toFixed(1)}V${(mid + h).toFixed(1)}`;
      }
      root.append(svg("path", { d, class: "wave" }));
    }
  });
  const my = top + lane * 2 + 12;
  root.append(svg("text", { x: 4, y: my + 4, class: "lane-name" }, "events"));
  for (const e of inspect.events) {
    const mark = MARKS[e.type];
    if (!mark || (e.type === "error" && !e.message)) continue;
    root.append(svg("circle", { cx: x(e.t), cy: my, r: 5, class: "mark mark-" + mark[0], "data-type": e.type },
      svg("title", {}, `${clock(e.t - inspect.start)} ${mark[1]}${describe(e)}`)));
  }
  root.append(svg("line", { id: "playhead", x1: x(inspect.start), x2: x(inspect.start), y1: top - 4, y2: height - 8, class: "playhead" }));
  inspect.x = x;
  box.replaceChildren(root);
}

function describe(e) {
  switch (e.type) {
    case "tool_called": return `: ${e.name}(${e.arguments}) → ${e.result}`;
    case "flow_moved": return `: ${e.from_node ?? "start"} → ${e.to_node}`;
    case "turn_skipped": return `: ${e.reason}`;
    case "interruption": return e.heard_text ? `: heard “${e.heard_text}”` : "";
    case "agent_resumed": return e.user_text ? `: “${e.user_text}” (${Math.round(e.paused_ms)} ms)` : "";
    case "turn_held": return `: “${e.text}”`;
    case "error": return `: ${e.stage}: ${e.message}`;
    case "turn_ended": return ` (${e.reason})`;
    default: return "";
  }
}

function seek(t) {
  const audio = $("rec-audio");
  if (!audio.src) return;
  audio.currentTime = Math.max(0, t - inspect.start);
  audio.play().catch(() => {});
}

function movePlayhead() {
  const line = document.getElementById("playhead");
  if (!line || !inspect.x) return;
  const px = inspect.x(inspect.start + $("rec-audio").currentTime);
  line.setAttribute("x1", px);
  line.setAttribute("x2", px);
}

// ---- the conversation and the waterfall ------------------------------------------------------------

function line(cls, t, ...content) {
  const at = el("button", { type: "button", class: "at", title: "play from here" }, clock(t - inspect.start));
  at.addEventListener("click", () => seek(Math.max(inspect.start, t - 0.3)));
  return el("li", { class: cls }, at, " ", ...content);
}

function renderTranscript(events) {
  const items = [];
  const agent = new Map();
  // a line plays from where it was spoken: the user's from the start of their speech, the agent's
  // from the start of its voice (the words come later, from the speech to text and the model)
  const spoke = new Map(events.filter((e) => e.type === "turn_ended").map((e) => [e.turn, e.speech_start]));
  const voiced = new Map();
  for (const e of events) if (e.type === "agent_speech_started" && !voiced.has(e.turn)) voiced.set(e.turn, e.t);
  let user = null;
  for (const e of events) {
    switch (e.type) {
      case "transcript_final": user = line("user", spoke.get(e.turn) ?? e.t, e.text); items.push(user); break;
      case "user_prosody": if (user && e.tags && e.tags.length) user.append(el("small", {}, ` — sounds ${e.tags.join(", ")}`)); break;
      case "agent_sentence": {
        let item = agent.get(e.turn);
        if (!item) { item = line("agent", voiced.get(e.turn) ?? e.t, el("span", { class: "said" }, "")); agent.set(e.turn, item); items.push(item); }
        const said = item.querySelector(".said");
        said.textContent = (said.textContent + " " + e.text).trim();
        break;
      }
      case "interruption": {
        const item = agent.get(e.turn);
        if (!item) break;
        const said = item.querySelector(".said");
        const words = said.textContent.split(/\s+/), heard = e.heard_text.trim().split(/\s+/).filter(Boolean).length;
        said.replaceChildren(el("span", { class: "heard" }, words.slice(0, heard).join(" ")), " ",
          el("span", { class: "unheard", title: "not heard: the user cut in" }, words.slice(heard).join(" ")));
        item.classList.add("interrupted");
        break;
      }
      case "tool_called": items.push(line("note tool", e.t, `${e.name}(${e.arguments}) → ${e.result}`)); break;
      case "flow_moved": items.push(line("note", e.t, `step: ${e.from_node ?? "start"} → ${e.to_node}${e.end ? " (end)" : ""}`)); break;
      case "agent_resumed":
        items.push(line("note", e.t, `went on ${e.user_text ? `after “${e.user_text}”` : `(${e.reason.replace("_", " ")})`} — paused ${Math.round(e.paused_ms)} ms`));
        break;
      case "turn_skipped": items.push(line("note", e.t, `not answered: ${e.reason}`)); break;
      case "turn_held": items.push(line("note", e.t, `waited: “${e.text}” sounded unfinished`)); break;
      case "agent_cue": items.push(line("note", e.t, `${e.kind}: “${e.text}”`)); break;
      case "error": items.push(line("note bad", e.t, `${e.stage}: ${e.message}`)); break;
    }
  }
  $("rec-transcript").replaceChildren(...items);
  if (!items.length) $("rec-transcript").append(el("li", { class: "state" }, "Nothing was said."));
}

function renderWaterfall(events) {
  const rows = events.filter((e) => e.type === "turn_latency" && e.marks && e.marks.first_audio_sent !== undefined);
  $("rec-latency").querySelector("tbody").replaceChildren(...rows.map((e) => window.vagusWaterfall.row(e)));
  $("rec-latency-none").hidden = rows.length > 0;
}

async function deleteRecording() {
  const id = inspect.current;
  if (!id || !window.confirm("Delete this recording (its audio and transcript)? This cannot be undone.")) return;
  const response = await fetch(`/studio/api/recordings/${encodeURIComponent(id)}`, { method: "DELETE", headers: authHeaders() });
  if (!response.ok) { notice("Not deleted: " + ((await response.json().catch(() => ({}))).error || {}).message, true); return; }
  closeRecording();
  await loadRecordings();
  notice("Recording deleted.");
}

function setUpInspect() {
  $("rec-refresh").addEventListener("click", () => loadRecordings(true));
  $("rec-delete").addEventListener("click", deleteRecording);
  const audio = $("rec-audio");
  audio.addEventListener("timeupdate", movePlayhead);
  audio.addEventListener("seeked", movePlayhead);
  const tick = () => { movePlayhead(); if (!audio.paused) requestAnimationFrame(tick); };
  audio.addEventListener("play", () => requestAnimationFrame(tick));
  const timeline = $("timeline");
  timeline.addEventListener("click", (e) => {
    const box = timeline.getBoundingClientRect();
    const fraction = (e.clientX - box.left - 56) / (box.width - 60);
    if (fraction >= 0 && fraction <= 1) seek(inspect.start + fraction * inspect.duration);
  });
  timeline.addEventListener("keydown", (e) => {
    const step = e.key === "ArrowRight" ? 5 : e.key === "ArrowLeft" ? -5 : 0;
    if (step) { audio.currentTime = Math.min(Math.max(0, audio.currentTime + step), inspect.duration); e.preventDefault(); }
    if (e.key === " ") { audio.paused ? audio.play() : audio.pause(); e.preventDefault(); }
  });
  window.addEventListener("resize", () => { if (inspect.current) renderTimeline(); });
}
