/**
 * The frame of every signed-in view: navigation by what the person may open (`me.can`), who they are,
 * sign-out. The top bar holds the daily work (grid, workflows, submissions, audit log) and one "Admin" entry;
 * the administration sections (people, sign-ins, organisations, plans, activity, webhooks, integrations) have
 * their own navigation, a second row under the top bar on those pages only, so the top bar stays one short row.
 * Every view loads on first open (React.lazy), so that its libraries (AG Grid and Yjs for the grid, rjsf,
 * recharts, csv-stringify) stay out of the sign-in page, the monitor and each other's downloads.
 */
import { lazy, Suspense } from 'react';
import { Link, NavLink, Navigate, Route, Routes, useLocation } from 'react-router';
import type { MeQuery } from '../graphql/generated';
import { ErrorBoundary } from '../common/ErrorBoundary';
import { Loading } from '../common/Status';
import { useSession } from '../auth/MeContext';
import { roleLabel } from '../common/format';
import { WaitingForAccess } from '../auth/WaitingForAccess';
import { NotificationBell } from '../notifications/NotificationBell';
import { usePageTitle } from '../common/usePageTitle';

// Each view loads when first opened, with the libraries only it uses: the grid's AG Grid (1.2 MB) and Yjs, the
// workflow forms' @rjsf, the submission chart's recharts, the audit export's csv-stringify. Signing in and the
// workflow monitor download no grid; the grid downloads no forms or charts (issue 16).
const GridPage = lazy(() => import('../grid/GridPage').then((m) => ({ default: m.GridPage })));
const WorkflowsPage = lazy(() => import('../workflows/WorkflowsPage').then((m) => ({ default: m.WorkflowsPage })));
const AccountPage = lazy(() => import('../auth/AccountPage').then((m) => ({ default: m.AccountPage })));
const UsersPage = lazy(() => import('../admin/UsersPage').then((m) => ({ default: m.UsersPage })));
const PersonPage = lazy(() => import('../admin/PersonPage').then((m) => ({ default: m.PersonPage })));
const AuditLogPage = lazy(() => import('../admin/AuditLogPage').then((m) => ({ default: m.AuditLogPage })));
const SubmissionsPage = lazy(() => import('../admin/SubmissionsPage').then((m) => ({ default: m.SubmissionsPage })));
const PlansPage = lazy(() => import('../admin/PlansPage').then((m) => ({ default: m.PlansPage })));
const ActivityLogPage = lazy(() => import('../admin/ActivityLogPage').then((m) => ({ default: m.ActivityLogPage })));
const WebhooksPage = lazy(() => import('../admin/WebhooksPage').then((m) => ({ default: m.WebhooksPage })));
const SignInsPage = lazy(() => import('../admin/SignInsPage').then((m) => ({ default: m.SignInsPage })));
const OrganizationsPage = lazy(() => import('../admin/OrganizationsPage').then((m) => ({ default: m.OrganizationsPage })));
const OrganizationPage = lazy(() => import('../admin/OrganizationPage').then((m) => ({ default: m.OrganizationPage })));
const TokensPage = lazy(() => import('../tokens/TokensPage').then((m) => ({ default: m.TokensPage })));
const ReviewPage = lazy(() => import('../review/ReviewPage').then((m) => ({ default: m.ReviewPage })));
const IntegrationsPage = lazy(() => import('../admin/IntegrationsPage').then((m) => ({ default: m.IntegrationsPage })));
const ConsolidatedPage = lazy(() => import('../consolidated/ConsolidatedPage').then((m) => ({ default: m.ConsolidatedPage })));

type Abilities = MeQuery['me']['can'];

/** The administration sections, in the admin area's order, each offered when `me.can` says so. */
const ADMIN_SECTIONS: { to: string; label: string; offered: (can: Abilities) => boolean }[] = [
  { to: '/admin/users', label: 'Users', offered: (can) => can.listUsers },
  { to: '/admin/sign-ins', label: 'Sign-ins', offered: (can) => can.manageUsers },
  { to: '/admin/organizations', label: 'Organisations', offered: (can) => can.manageUsers },
  { to: '/admin/plans', label: 'Plans', offered: (can) => can.managePlans },
  { to: '/admin/activity', label: 'Activity', offered: (can) => can.readActivityLog },
  // Webhooks and integrations are for admins only, as the activity log is (the server refuses everyone else anyway).
  { to: '/admin/webhooks', label: 'Webhooks', offered: (can) => can.readActivityLog },
  { to: '/admin/integrations', label: 'Integrations', offered: (can) => can.readActivityLog },
];

const within = (pathname: string, to: string) => pathname === to || pathname.startsWith(`${to}/`);

/** The views' names for the tab's title, by path (the longest prefix first); the grid adds its unit. */
const VIEW_TITLES: [prefix: string, title: string][] = [
  ['/admin/users/', 'Person'],
  ['/admin/users', 'Users'],
  ['/admin/sign-ins', 'Sign-ins'],
  ['/admin/organizations/', 'Organisation'],
  ['/admin/organizations', 'Organisations'],
  ['/admin/plans', 'Plans'],
  ['/admin/activity', 'Activity'],
  ['/admin/webhooks', 'Webhooks'],
  ['/admin/integrations', 'Integrations'],
  ['/admin/submissions', 'Submissions'],
  ['/admin/audit', 'Audit log'],
  ['/consolidated', 'Consolidated budget'],
  ['/workflows', 'Workflows'],
  ['/review/', 'Review'],
  ['/account', 'Your account'],
  ['/tokens', 'Access tokens'],
];

/** The tab's title for a path: the view's name, and for the grid its unit ("MARKETING budget"). */
export function viewTitle(pathname: string): string | null {
  const grid = /^\/grid(?:\/([^/]+))?\/?$/.exec(pathname);
  if (grid) return grid[1] ? `${decodeURIComponent(grid[1])} budget` : 'Budget grid';
  return VIEW_TITLES.find(([prefix]) => pathname.startsWith(prefix))?.[1] ?? null;
}

/**
 * The admin area's own navigation: a second row under the top bar, on the admin pages only. A row rather than a
 * column beside the page: the people, sign-in and activity tables need the page's whole width.
 */
function AdminNav({ sections }: { sections: typeof ADMIN_SECTIONS }) {
  return (
    <nav aria-label="Admin" className="admin-nav">
      <span className="admin-nav-title" aria-hidden="true">Admin</span>
      {sections.map((section) => <NavLink key={section.to} to={section.to}>{section.label}</NavLink>)}
    </nav>
  );
}

export function Shell() {
  const { me, signOut } = useSession();
  const location = useLocation();
  // What to offer is the server's answer (me.can), from the same policies that guard each view's data.
  const { can } = me;
  const home = can.readBudgets ? '/grid' : can.readWorkflows ? '/workflows' : can.listUsers ? '/admin/users' : '/account';
  const adminSections = ADMIN_SECTIONS.filter((section) => section.offered(can));
  const inAdmin = adminSections.some((section) => within(location.pathname, section.to));
  usePageTitle(viewTitle(location.pathname));
  return (
    <div className="shell">
      <header className="masthead">
        <div className="topbar">
          <span className="brand">Plansync</span>
          <nav aria-label="Main" className="main-nav">
            {can.readBudgets && <NavLink to="/grid">Budget grid</NavLink>}
            {/* Every unit at once, read-only: for those who read them all (analysts, admins). */}
            {can.reviewSubmissions && <NavLink to="/consolidated">Consolidated</NavLink>}
            {can.readWorkflows && <NavLink to="/workflows">Workflows</NavLink>}
            {can.reviewSubmissions && <NavLink to="/admin/submissions">Submissions</NavLink>}
            {can.readAuditLog && <NavLink to="/admin/audit">Audit log</NavLink>}
            {/* One entry for every administration section: it opens the first the person may use. */}
            {adminSections.length > 0 && (
              <Link to={adminSections[0].to} className={inAdmin ? 'active' : undefined} aria-current={inAdmin ? 'true' : undefined}>Admin</Link>
            )}
          </nav>
          <div className="who">
            {/* Unread notifications, live: a colleague's overwrite, a review, a step waiting for the person. */}
            <NotificationBell />
            {/* The person's own account (password, two-factor sign-in) is one click from every view. */}
            <NavLink to="/account" className="account-link" title="Your account: password and two-factor sign-in" data-testid="me">
              {me.displayName} <span className="badge" data-role={me.role}>{roleLabel(me.role)}</span>
            </NavLink>
            {/* Everyone may make access tokens for their scripts and spreadsheets. */}
            <NavLink to="/tokens" className="account-link" title="Access tokens for scripts, Excel and Power BI">Tokens</NavLink>
            <button className="link" onClick={signOut}>Sign out</button>
          </div>
        </div>
        {inAdmin && <AdminNav sections={adminSections} />}
      </header>
      <main className="content">
        <WaitingForAccess />
        {/* A view that fails keeps the navigation usable; going elsewhere clears the message. */}
        <ErrorBoundary what="this view" resetKey={location.pathname}>
          <Suspense fallback={<Loading what="this view" />}>
            <Routes>
              {can.readBudgets && <Route path="/grid/:unit?" element={<GridPage />} />}
              {can.readBudgets && <Route path="/consolidated" element={<ConsolidatedPage />} />}
              {can.readWorkflows && <Route path="/workflows/:executionId?" element={<WorkflowsPage />} />}
              {can.readBudgets && <Route path="/review/:planId/:unit" element={<ReviewPage />} />}
              {can.listUsers && <Route path="/admin/users" element={<UsersPage />} />}
              {can.manageUsers && <Route path="/admin/users/:userId" element={<PersonPage />} />}
              {can.manageUsers && <Route path="/admin/sign-ins" element={<SignInsPage />} />}
              {can.manageUsers && <Route path="/admin/organizations" element={<OrganizationsPage />} />}
              {can.manageUsers && <Route path="/admin/organizations/:organizationId" element={<OrganizationPage />} />}
              {can.readAuditLog && <Route path="/admin/audit" element={<AuditLogPage />} />}
              {can.reviewSubmissions && <Route path="/admin/submissions" element={<SubmissionsPage />} />}
              {can.managePlans && <Route path="/admin/plans" element={<PlansPage />} />}
              {can.readActivityLog && <Route path="/admin/activity" element={<ActivityLogPage />} />}
              {can.readActivityLog && <Route path="/admin/webhooks" element={<WebhooksPage />} />}
              {can.readActivityLog && <Route path="/admin/integrations" element={<IntegrationsPage />} />}
              <Route path="/account" element={<AccountPage />} />
              <Route path="/tokens" element={<TokensPage />} />
              <Route path="/profile" element={<Navigate to="/account" replace />} />
              <Route path="*" element={<Navigate to={home} replace />} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
