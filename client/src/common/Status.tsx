/** Loading and error states, the same on every view. */
import { problemOf } from './errors';

export function Loading({ what }: { what: string }) {
  return (
    <div className="status" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function ErrorMessage({ error, retry }: { error: Error | { message: string }; retry?: () => void }) {
  return (
    <div className="status error-box" role="alert">
      <strong>Something went wrong.</strong> {problemOf(error).message}
      {retry && (
        <button className="link" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}
