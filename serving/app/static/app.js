// The listening page: microphone → 16-bit WAV windows → /api/classify → live timeline; uploads.
// Plain ES module, no build step. ?autostart=1 starts listening on load (kiosk mode).

const COLORS = {
  human: "#f46036", noise: "#8a8f98", animal: "#4caf50", music: "#9c27b0",
  ambient: "#17a2b8", alarm: "#d7263d", movement: "#2e86de", other: "#b5a77d",
};
const SAMPLE_RATE = 16000; // a rate the served model accepts; the browser resamples the mic
const TIMELINE_COLUMNS = 150;

const $ = (id) => document.getElementById(id);
let config = null;
let session = null; // {stream, context}

function status(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

export function encodeWav(samples, rate) {
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + 2 * i, Math.round(s * 32767), true);
  }
  return new Blob([view.buffer], { type: "audio/wav" });
}

async function classify(body) {
  const response = await fetch("/api/classify", {
    method: "POST", headers: { "Content-Type": "audio/wav" }, body,
  });
  const result = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${response.status} ${result.error || ""}: ${result.message || ""}`);
  return result;
}

function probabilityMap(probabilities) {
  if (Array.isArray(probabilities)) {
    return Object.fromEntries(config.class_names.map((name, i) => [name, probabilities[i]]));
  }
  return probabilities;
}

function show(result, label, kind) {
  const probabilities = probabilityMap(result.probabilities);
  const confidence = probabilities[result.class_name];
  $("now-class").textContent = result.class_name;
  $("now-class").style.color = COLORS[result.class_name];
  $("now-confidence").textContent = `${Math.round(confidence * 100)} %`;
  for (const [name, p] of Object.entries(probabilities)) {
    const row = $(`bar-${name}`);
    row.querySelector(".bar div").style.width = `${p * 100}%`;
    row.querySelector(".value").textContent = `${Math.round(p * 100)}%`;
  }
  const column = document.createElement("div");
  column.className = `hop ${kind}`;
  column.style.height = `${Math.max(4, confidence * 100)}%`;
  column.style.background = COLORS[result.class_name];
  column.title = `${label}: ${result.class_name} ${Math.round(confidence * 100)}%`;
  $("timeline").append(column);
  while ($("timeline").children.length > TIMELINE_COLUMNS) $("timeline").firstChild.remove();
  $("timeline").scrollLeft = $("timeline").scrollWidth;
  const item = document.createElement("li");
  item.className = "prediction";
  item.dataset.className = result.class_name;
  item.dataset.confidence = confidence.toFixed(4);
  item.dataset.kind = kind;
  item.textContent = `${label}: ${result.class_name} (${Math.round(confidence * 100)}%)`;
  $("log").prepend(item);
}

function logError(message) {
  const item = document.createElement("li");
  item.className = "error";
  item.textContent = message;
  $("log").prepend(item);
  status(message, true);
}

async function start() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const context = new AudioContext({ sampleRate: SAMPLE_RATE });
    await context.audioWorklet.addModule("/static/recorder-worklet.js");
    const recorder = new AudioWorkletNode(context, "recorder");
    const mute = new GainNode(context, { gain: 0 }); // keeps the graph pulling; plays nothing
    context.createMediaStreamSource(stream).connect(recorder).connect(mute).connect(context.destination);
    session = { stream, context };
    const rate = context.sampleRate;
    const hop = Math.round(config.hop_s * rate);
    const ring = new Float32Array(Math.round(config.window_s * rate));
    let filled = 0, sinceHop = 0, received = 0, inFlight = false, skipped = 0;
    recorder.port.onmessage = ({ data }) => {
      ring.copyWithin(0, data.length);
      ring.set(data, ring.length - data.length);
      filled = Math.min(ring.length, filled + data.length);
      received += data.length;
      sinceHop += data.length;
      const rms = Math.sqrt(data.reduce((sum, x) => sum + x * x, 0) / data.length);
      const db = rms > 0 ? 20 * Math.log10(rms) : -120;
      $("level").style.width = `${Math.min(100, Math.max(0, (db + 60) / 60 * 100))}%`;
      if (sinceHop < hop) return;
      sinceHop -= hop;
      if (inFlight) { // the server is behind: classify the newest window only
        skipped++;
        status(`Listening (${skipped} hops skipped: the server is slower than one per ${config.hop_s} s)`);
        return;
      }
      inFlight = true;
      const end = received / rate;
      const wav = encodeWav(ring.slice(ring.length - filled), rate);
      classify(wav)
        .then((result) => show(result, `${end.toFixed(0)} s`, "live"))
        .catch((error) => logError(`${end.toFixed(0)} s: ${error.message}`))
        .finally(() => { inFlight = false; });
    };
    if (context.state === "suspended") context.resume();
    setTimeout(() => {
      if (session && session.context.state === "suspended") {
        status("The browser held audio back until a click: press “Start listening”.", true);
        stop();
      }
    }, 1500);
    $("listen").textContent = "Stop";
    status(`Listening at ${rate} Hz: a prediction of the last ${config.window_s} s every ${config.hop_s} s`);
  } catch (error) {
    session = null;
    status(`Microphone unavailable: ${error.message}`, true);
  }
}

function stop() {
  if (!session) return;
  session.stream.getTracks().forEach((track) => track.stop());
  session.context.close();
  session = null;
  $("listen").textContent = "Start listening";
  if (!$("status").classList.contains("error")) status("Stopped.");
}

async function toWav(file) {
  if (/\.wav$/i.test(file.name) || /wav/.test(file.type)) return file; // the model parses WAVs
  const decoder = new OfflineAudioContext(1, 1, SAMPLE_RATE); // resamples to 16 kHz
  const audio = await decoder.decodeAudioData(await file.arrayBuffer());
  const mono = new Float32Array(audio.length);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    audio.getChannelData(c).forEach((x, i) => { mono[i] += x / audio.numberOfChannels; });
  }
  return encodeWav(mono, audio.sampleRate);
}

async function upload(file) {
  if (!file) return;
  if (file.size > config.max_upload_bytes) {
    logError(`${file.name} is larger than the ${config.max_upload_bytes / 2 ** 20} MiB upload limit`);
    return;
  }
  status(`Classifying ${file.name}…`);
  try {
    const result = await classify(await toWav(file));
    // A long recording's timeline first (one entry per 5 s window), then the clip's verdict.
    if (Array.isArray(result.windows) && result.windows.length > 1) {
      for (const w of result.windows) show(w, `${file.name} ${w.start_s}–${w.end_s} s`, "window");
    }
    show(result, file.name, "file");
    status(`${file.name}: ${result.class_name}`);
  } catch (error) {
    logError(`${file.name}: ${error.message}`);
  }
  $("upload").value = "";
}

async function init() {
  config = await (await fetch("/api/config")).json();
  for (const name of config.class_names) {
    const bar = document.createElement("li");
    bar.id = `bar-${name}`;
    bar.innerHTML = `<span>${name}</span><span class="bar"><div style="background:${COLORS[name]}"></div></span><span class="value"></span>`;
    $("bars").append(bar);
    const key = document.createElement("li");
    key.innerHTML = `<span style="background:${COLORS[name]}"></span>${name}`;
    $("legend").append(key);
  }
  $("listen").addEventListener("click", () => (session ? stop() : start()));
  $("upload").addEventListener("change", (event) => upload(event.target.files[0]));
  if (new URLSearchParams(location.search).get("autostart") === "1") start();
}

init();
