/**
 * Which budget plan a page shows: the one named in the address (`?plan=<id>`, so a link or a reload keeps
 * it), else the one of the latest fiscal year, which is the one people are planning. The same picker on every
 * page that shows a plan.
 */
import { useSearchParams } from 'react-router';

export interface PlanChoice {
  id: string;
  name: string;
  fiscalYear: number;
}

/** The chosen plan among `plans` (undefined while there is none), and how to choose another. */
export function usePlanChoice<P extends PlanChoice>(plans: readonly P[]): { plan: P | undefined; choose: (id: string) => void; query: string } {
  const [params, setParams] = useSearchParams();
  const named = params.get('plan');
  const latest = plans.reduce<P | undefined>((best, p) => (!best || p.fiscalYear > best.fiscalYear ? p : best), undefined);
  const plan = plans.find((p) => p.id === named) ?? latest;
  const choose = (id: string) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      next.set('plan', id);
      return next;
    });
  // What links to another page of the same plan carry.
  const query = named && plan?.id === named ? `?plan=${encodeURIComponent(named)}` : '';
  return { plan, choose, query };
}

/**
 * A plan picker; with a single plan, just its name. `inline` puts the label beside the list (in a heading),
 * else above it, as the grid toolbar's other pickers.
 */
export function PlanPicker({ plans, current, onPick, inline = false }: { plans: readonly PlanChoice[]; current: string | undefined; onPick: (id: string) => void; inline?: boolean }) {
  if (plans.length <= 1) return inline && plans[0] ? <span className="plan-name">{plans[0].name}</span> : null;
  return (
    <label className={inline ? 'inline' : undefined}>
      Plan
      <select value={current ?? ''} onChange={(e) => onPick(e.target.value)} aria-label="Plan">
        {plans.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}
