/** Who else has this budget open right now, in their colours (from the document's awareness). */
import { useEffect, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type { PresenceState } from './useGridDocument';

export function Presence({ awareness }: { awareness: Awareness }) {
  const [people, setPeople] = useState<PresenceState['user'][]>([]);
  useEffect(() => {
    const update = () => {
      const seen = new Map<string, PresenceState['user']>();
      awareness.getStates().forEach((state, clientId) => {
        const user = (state as Partial<PresenceState>).user;
        if (clientId !== awareness.clientID && user) seen.set(user.email, user);
      });
      setPeople([...seen.values()]);
    };
    awareness.on('change', update);
    update();
    return () => awareness.off('change', update);
  }, [awareness]);
  if (people.length === 0) return null;
  return (
    <span className="people" aria-label="Also here" data-testid="presence">
      {people.map((p) => (
        <span key={p.email} className="person" style={{ background: p.color }} title={p.email}>
          {p.name}
        </span>
      ))}
    </span>
  );
}
