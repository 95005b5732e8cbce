// AudioWorklet processor: forwards the microphone's first channel to the page in 100 ms chunks.
class Recorder extends AudioWorkletProcessor {
  constructor() {
    super();
    this.chunk = new Float32Array(Math.round(sampleRate / 10));
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      let offset = 0;
      while (offset < channel.length) {
        const take = Math.min(channel.length - offset, this.chunk.length - this.filled);
        this.chunk.set(channel.subarray(offset, offset + take), this.filled);
        this.filled += take;
        offset += take;
        if (this.filled === this.chunk.length) {
          this.port.postMessage(this.chunk);
          this.chunk = new Float32Array(this.chunk.length);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("recorder", Recorder);
