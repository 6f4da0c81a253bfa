/** Short messages that come and go (an edit refused, a paste done), announced to screen readers. */
import { useCallback, useRef, useState } from 'react';

export interface Notice {
  id: number;
  text: string;
}

export function useNotices(timeoutMs = 6000) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setNotices((all) => all.filter((n) => n.id !== id)), []);
  const notify = useCallback(
    (text: string) => {
      const id = next.current++;
      setNotices((all) => [...all.slice(-3), { id, text }]);
      setTimeout(() => dismiss(id), timeoutMs);
    },
    [dismiss, timeoutMs],
  );
  return { notices, notify, dismiss };
}

export function Notices({ notices, dismiss }: { notices: Notice[]; dismiss: (id: number) => void }) {
  return (
    <div className="toast-stack" role="status" aria-live="polite" data-testid="notices">
      {notices.map((n) => (
        <div className="toast" key={n.id}>
          <span>{n.text}</span>
          <button onClick={() => dismiss(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
