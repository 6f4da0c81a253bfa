/** Who else has this budget open right now, in their colours (from the document's awareness). */
import { useEffect, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import { MAX_PEOPLE_SHOWN, othersPresence, type PresenceUser } from './presenceState';

export function Presence({ awareness }: { awareness: Awareness }) {
  const [people, setPeople] = useState<PresenceUser[]>([]);
  useEffect(() => {
    const update = () => {
      // One chip per person, however many tabs they have open.
      const seen = new Map<string, PresenceUser>();
      for (const { user } of othersPresence(awareness.getStates(), awareness.clientID)) seen.set(user.email, user);
      setPeople([...seen.values()]);
    };
    awareness.on('change', update);
    update();
    return () => awareness.off('change', update);
  }, [awareness]);
  if (people.length === 0) return null;
  const hidden = people.length - MAX_PEOPLE_SHOWN;
  return (
    <span className="people" aria-label="Also here" data-testid="presence">
      {people.slice(0, MAX_PEOPLE_SHOWN).map((p) => (
        <span key={p.email} className="person" style={{ background: p.color }} title={p.email}>
          {p.name}
        </span>
      ))}
      {hidden > 0 && <span className="person more">+{hidden} more</span>}
    </span>
  );
}
