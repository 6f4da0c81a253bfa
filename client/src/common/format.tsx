/** Dates, durations and statuses, written the same way on every view. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const time = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

export function formatTime(iso: string | null | undefined): string {
  return iso ? time.format(new Date(iso)) : '—';
}

/** "850 ms", "4.2 s", "3 min 05 s", "2 h 10 min": short and exact enough to compare steps. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** The badge colour of a status, whatever it is the status of. */
export function statusTone(status: string): 'good' | 'warn' | 'bad' | 'neutral' | '' {
  switch (status) {
    case 'COMPLETED':
    case 'SUCCEEDED':
    case 'APPROVED':
      return 'good';
    case 'AWAITING_INPUT':
    case 'SUBMITTED':
      return 'warn';
    case 'FAILED':
    case 'REJECTED':
      return 'bad';
    case 'PENDING':
    case 'SKIPPED':
    case 'CANCELLED':
    case 'DRAFT':
      return 'neutral';
    default:
      return ''; // RUNNING: the accent colour
  }
}

/** "AWAITING_INPUT" -> "Awaiting input". */
export function humanStatus(status: string): string {
  const words = status.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return <span className={`badge ${statusTone(status)}`} data-status={status}>{label ?? humanStatus(status)}</span>;
}

const ROLE_LABELS: Record<string, string> = {
  ADMIN: 'Admin',
  ANALYST: 'Analyst',
  BU_LEADER: 'BU leader',
  VIEWER: 'Viewer',
  PARTNER_ADMIN: 'Partner admin',
  PARTNER_USER: 'Partner user',
};

export const roleLabel = (role: string) => ROLE_LABELS[role] ?? humanStatus(role);
