/**
 * When the grid message being handled reached the server (`process.hrtime.bigint()`), so that a document can tell
 * how long its turn's broadcasts took from the arrival of the first message that queued one to the last write to
 * its connections (`plansync_grid_forward_seconds`): the server's own share of what a grid edit takes from one
 * person to the next. One value for the process: the socket's message listener sets it around the handling of
 * each message, which runs to the end synchronously, and clears it after.
 *
 * Not a timestamp of when the bytes reached the machine: ws has read and unmasked the frame by then. What waits
 * before that (a busy event loop, a socket read late) is not in it.
 */
let arrivedAt = 0n;

export function messageArrived(at: bigint): void {
  arrivedAt = at;
}

export function messageHandled(): void {
  arrivedAt = 0n;
}

/** The arrival of the message being handled, or 0n when no grid message is (an API edit, a relayed change, a timer). */
export function arrivalOfMessageInHand(): bigint {
  return arrivedAt;
}
