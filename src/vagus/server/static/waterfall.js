// One turn's latency waterfall (a `turn_latency` event): from the end of the user's speech to the
// first audio sent, split into deciding the turn is over, speech to text, the language model, the
// voice and sending. Shared by the talk page and the Studio's Inspect tab (colours in talk.css).
"use strict";

window.vagusWaterfall = (function () {
  function stages(m) {
    const end = m.speech_end;
    return [
      ["endpoint", m.turn_decided - end],
      ["stt", (m.stt_done ?? m.turn_decided) - m.turn_decided],
      ["llm", (m.first_sentence ?? m.stt_done) - (m.stt_done ?? m.turn_decided)],
      ["tts", (m.tts_first_audio ?? m.first_sentence) - (m.first_sentence ?? m.stt_done)],
      ["send", m.first_audio_sent - (m.tts_first_audio ?? m.first_sentence)],
    ];
  }

  function row(e) {
    const segs = stages(e.marks);
    const total = Math.max(1e-3, e.marks.first_audio_sent - e.marks.speech_end);
    const tr = document.createElement("tr");
    const bar = segs
      .map(([name, dt]) => `<span class="seg-${name}" title="${name}: ${Math.round(dt * 1000)} ms" style="width:${Math.max(0, (dt / total) * 100)}%"></span>`)
      .join("");
    const detail = segs.map(([name, dt]) => `${name} ${Math.round(dt * 1000)}`).join(" · ");
    tr.innerHTML = `<td>${e.turn}</td><td>${Math.round(e.response_ms)} ms</td><td><div class="bar">${bar}</div><small>${detail} ms</small></td>`;
    return tr;
  }

  return { stages, row };
})();
