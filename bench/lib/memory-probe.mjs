// Preloaded (`node --expose-gc --import=<this file>`) into the servers the benchmarks measure, never into
// production: on an IPC request { type: 'bench:memory', id } it forces full garbage collections and answers
// with process.memoryUsage(). It adds no code to the server itself, and does nothing without an IPC channel.
if (process.send) {
  process.on('message', async (message) => {
    if (!message || message.type !== 'bench:memory') return;
    const gc = typeof globalThis.gc === 'function';
    if (gc) {
      // Several rounds, with turns of the event loop between them, so that finalizers and weak callbacks run.
      for (let i = 0; i < 3; i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const usage = process.memoryUsage();
    process.send({ type: 'bench:memory', id: message.id, gc, ...usage });
  });
  // The channel must not keep a server alive that would otherwise exit.
  process.channel?.unref();
}
