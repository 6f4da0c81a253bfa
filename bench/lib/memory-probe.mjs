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
    // Compiled code (V8's code spaces, part of heapUsed): the JIT's, bounded, not data the server holds; the
    // benchmarks report it apart.
    const { getHeapSpaceStatistics } = await import('node:v8');
    const code = getHeapSpaceStatistics()
      .filter((space) => space.space_name.startsWith('code'))
      .reduce((sum, space) => sum + space.space_used_size, 0);
    process.send({ type: 'bench:memory', id: message.id, gc, ...usage, code });
  });
  // The channel must not keep a server alive that would otherwise exit.
  process.channel?.unref();
}
