// The Vagus talk page: microphone → WebRTC → agent, agent's voice back, live transcript and latency.
// State is exposed on window.vagus for automation (tests read events and received-audio statistics).
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const vagus = (window.vagus = { state: "idle", events: [], sessionId: null, pc: null, error: null });
let agentItem = null;
let userItem = null;

function setStatus(text, cls) {
  vagus.state = cls;
  $("status").textContent = text;
  $("status").className = "status " + cls;
}

function addLine(cls, text) {
  const li = document.createElement("li");
  li.className = cls;
  li.textContent = text;
  $("transcript").appendChild(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function showLatency(e) {
  $("latency").querySelector("tbody").appendChild(window.vagusWaterfall.row(e));
}

// An interrupted answer: the words the user heard, then the rest (never heard) struck through.
function showHeard(item, heard) {
  const full = item.textContent;
  const spoken = heard.trim().split(/\s+/).filter(Boolean).length;
  const words = full.split(/\s+/);
  const heardPart = document.createElement("span");
  heardPart.className = "heard";
  heardPart.textContent = words.slice(0, spoken).join(" ");
  const rest = document.createElement("span");
  rest.className = "unheard";
  rest.title = "not heard: the user cut in";
  rest.textContent = words.slice(spoken).join(" ");
  item.textContent = "";
  item.append(heardPart, " ", rest);
  item.classList.add("interrupted");
}

function showAction(e) {
  const args = Object.entries(e.args || {}).map(([k, v]) => `${k}=${v}`).join(" ");
  addLine("action " + e.status, `${e.name} ${args} — ${e.status}`);
  $("action").textContent = `last action: ${e.name} ${args} (${e.status})`;
}

function onEvent(e) {
  vagus.events.push(e);
  switch (e.type) {
    case "user_speech_started": $("hearing").textContent = "you: speaking"; $("hearing").classList.add("on"); break;
    case "user_speech_stopped": $("hearing").textContent = "you: silent"; $("hearing").classList.remove("on"); break;
    case "transcript_final": userItem = addLine("user", e.text); agentItem = null; break;
    case "user_prosody": if (userItem && e.tags.length) userItem.dataset.sounds = e.tags.join(", "); break;
    case "speaker_identified": if (userItem && e.name) userItem.dataset.who = e.name; break;
    case "addressee_judged": if (!e.addressed) addLine("flow", "not meant for the agent: not answered"); break;
    case "agent_sentence":
      if (!agentItem) agentItem = addLine("agent", "");
      agentItem.textContent = (agentItem.textContent + " " + e.text).trim();
      break;
    case "turn_ended": $("thinking").hidden = false; break;
    case "answer_done": case "turn_skipped": $("thinking").hidden = true; break;
    case "agent_speech_started": $("thinking").hidden = true; $("speaking").textContent = "agent speaking"; $("speaking").classList.add("on"); break;
    case "agent_speech_stopped": $("speaking").textContent = "agent silent"; $("speaking").classList.remove("on"); break;
    case "interruption": if (agentItem) showHeard(agentItem, e.heard_text); break;
    case "turn_latency": showLatency(e); break;
    case "error": addLine("error", `${e.stage}: ${e.message}`); break;
    case "senses": vagus.senses = e; break;
    case "tool_called": addLine("tool" + (e.error ? " failed" : ""), `${e.name}(${e.arguments}) → ${e.result}`); break;
    case "agent_action": showAction(e); break;
    case "flow_moved": addLine("flow", `step: ${e.from_node ?? "start"} → ${e.to_node}${e.end ? " (end)" : ""}`); break;
    case "agent_handoff": addLine("flow", `handed over: ${e.from_agent} → ${e.to_agent}`); break;
    case "speaker_identified": if (e.decision === "other" && e.locked) addLine("flow", "another voice: not answered"); break;
    case "enrolment": $("enrol-result").textContent = e.ok ? `Enrolled ${e.name} (${e.seconds} s of speech).` : e.message; break;
  }
}

function waitForIce(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") { pc.removeEventListener("icegatheringstatechange", done); resolve(); } };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 3000); // use what has been gathered so far
  });
}

const INSECURE =
  "The browser gives the microphone only to secure pages: open this page over https:// " +
  "(start the server with --tls-self-signed, or --tls-cert and --tls-key) or as http://localhost on the server's machine.";

async function iceServers(token) {
  const response = await fetch("/ice-servers", { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) return [];
  return (await response.json()).ice_servers || [];
}

async function connect() {
  if (!window.isSecureContext || !navigator.mediaDevices) throw new Error(INSECURE);
  setStatus("connecting…", "connecting");
  const aec = params.get("aec") || $("aec").value;
  // The browser's canceller and ours must not both run: with "server" the raw microphone is sent.
  const processing = aec === "browser";
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing, channelCount: 1 },
  });
  const token = params.get("token");
  const pc = (vagus.pc = new RTCPeerConnection({ iceServers: await iceServers(token) }));
  stream.getTracks().forEach((t) => pc.addTrack(t, stream));
  pc.ontrack = (ev) => { $("agent-audio").srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  const channel = (vagus.channel = pc.createDataChannel("events"));
  channel.onmessage = (msg) => onEvent(JSON.parse(msg.data));
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected") setStatus("connected", "connected");
    if (pc.connectionState === "failed") setStatus("connection failed", "failed");
    if (pc.connectionState === "closed") setStatus("not connected", "idle");
  };
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIce(pc);
  const response = await fetch("/offer", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, options: { echo: aec, user: params.get("user") || undefined } }),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  vagus.sessionId = answer.session_id;
  if (answer.agent) {
    const a = answer.agent;
    $("brain").textContent = `${a.name}: ears ${a.stt} · brain ${a.llm} · voice ${a.tts}`;
    $("recorded").hidden = a.recording !== "on";
  }
  await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
  $("connect").textContent = "Stop";
  $("connect").classList.add("stop");
}

function disconnect() {
  if (vagus.pc) {
    vagus.pc.getSenders().forEach((s) => s.track && s.track.stop());
    vagus.pc.close();
    vagus.pc = null;
  }
  setStatus("not connected", "idle");
  $("connect").textContent = "Start talking";
  $("connect").classList.remove("stop");
}

// Received-audio statistics, for automation: energy > 0 means the agent's voice arrived.
vagus.audioStats = async () => {
  if (!vagus.pc) return null;
  const stats = await vagus.pc.getStats();
  let out = null;
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out = { totalAudioEnergy: s.totalAudioEnergy || 0, totalSamplesReceived: s.totalSamplesReceived || 0, packetsReceived: s.packetsReceived || 0 };
    }
  });
  return out;
};

$("enrol").addEventListener("click", () => {
  const name = $("enrol-name").value.trim();
  if (!vagus.channel || vagus.channel.readyState !== "open") { $("enrol-result").textContent = "Start talking first."; return; }
  if (!name) { $("enrol-result").textContent = "Type your name."; return; }
  vagus.channel.send(JSON.stringify({ type: "enroll", name, consent: $("enrol-consent").checked }));
});

$("connect").addEventListener("click", () => {
  if (vagus.pc) return disconnect();
  connect().catch((err) => { vagus.error = String(err); disconnect(); setStatus("error: " + err.message, "failed"); });
});
if (!window.isSecureContext || !navigator.mediaDevices) {
  $("insecure").textContent = INSECURE;
  $("insecure").hidden = false;
}
if (params.get("aec")) $("aec").value = params.get("aec");
if (params.get("autostart") === "1") $("connect").click();
