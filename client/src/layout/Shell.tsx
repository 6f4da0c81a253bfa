/**
 * The frame of every signed-in view: navigation by what the person may open (`me.can`), who they are,
 * sign-out. The views other than the grid load on first open (React.lazy), so that their libraries (rjsf,
 * recharts, csv-stringify) stay out of the sign-in and grid bundle.
 */
import { lazy, Suspense } from 'react';
import { NavLink, Navigate, Route, Routes, useLocation } from 'react-router';
import { ErrorBoundary } from '../common/ErrorBoundary';
import { Loading } from '../common/Status';
import { useSession } from '../auth/MeContext';
import { roleLabel } from '../common/format';
import { GridPage } from '../grid/GridPage';
import { WaitingForAccess } from '../auth/WaitingForAccess';

// The grid is where most people work, and comes with the app. The other views load when first opened, each
// with the libraries only it uses (the workflow forms' @rjsf, the submission chart's recharts, the audit
// export's csv-stringify), so that signing in and the grid do not download them.
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

export function Shell() {
  const { me, signOut } = useSession();
  const location = useLocation();
  // What to offer is the server's answer (me.can), from the same policies that guard each view's data.
  const { can } = me;
  const home = can.readBudgets ? '/grid' : can.readWorkflows ? '/workflows' : can.listUsers ? '/admin/users' : '/account';
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Plansync</span>
        <nav aria-label="Main">
          {can.readBudgets && <NavLink to="/grid">Budget grid</NavLink>}
          {can.readWorkflows && <NavLink to="/workflows">Workflows</NavLink>}
          {can.reviewSubmissions && <NavLink to="/admin/submissions">Submissions</NavLink>}
          {can.readAuditLog && <NavLink to="/admin/audit">Audit log</NavLink>}
          {can.listUsers && <NavLink to="/admin/users">Users</NavLink>}
          {can.manageUsers && <NavLink to="/admin/sign-ins">Sign-ins</NavLink>}
          {can.manageUsers && <NavLink to="/admin/organizations">Organisations</NavLink>}
          {can.managePlans && <NavLink to="/admin/plans">Plans</NavLink>}
          {can.readActivityLog && <NavLink to="/admin/activity">Activity</NavLink>}
          {can.readActivityLog && <NavLink to="/admin/webhooks">Webhooks</NavLink>}
        </nav>
        <div className="who">
          {/* The person's own account (password, two-factor sign-in) is one click from every view. */}
          <NavLink to="/account" className="account-link" title="Your account: password and two-factor sign-in" data-testid="me">
            {me.displayName} <span className="badge" data-role={me.role}>{roleLabel(me.role)}</span>
          </NavLink>
          {/* Everyone may make access tokens for their scripts and spreadsheets. */}
          <NavLink to="/tokens" className="account-link" title="Access tokens for scripts, Excel and Power BI">Tokens</NavLink>
          <button className="link" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main className="content">
        <WaitingForAccess />
        {/* A view that fails keeps the navigation usable; going elsewhere clears the message. */}
        <ErrorBoundary what="this view" resetKey={location.pathname}>
          <Suspense fallback={<Loading what="this view" />}>
            <Routes>
              {can.readBudgets && <Route path="/grid/:unit?" element={<GridPage />} />}
              {can.readWorkflows && <Route path="/workflows/:executionId?" element={<WorkflowsPage />} />}
              {can.listUsers && <Route path="/admin/users" element={<UsersPage />} />}
              {can.manageUsers && <Route path="/admin/users/:userId" element={<PersonPage />} />}
              {can.manageUsers && <Route path="/admin/sign-ins" element={<SignInsPage />} />}
              {can.manageUsers && <Route path="/admin/organizations" element={<OrganizationsPage />} />}
              {can.manageUsers && <Route path="/admin/organizations/:organizationId" element={<OrganizationPage />} />}
              {can.readAuditLog && <Route path="/admin/audit" element={<AuditLogPage />} />}
              {can.reviewSubmissions && <Route path="/admin/submissions" element={<SubmissionsPage />} />}
              {can.managePlans && <Route path="/admin/plans" element={<PlansPage />} />}
              {can.readActivityLog && <Route path="/admin/activity" element={<ActivityLogPage />} />}
              {/* Webhooks are for admins only, as the activity log is (the server refuses everyone else anyway). */}
              {can.readActivityLog && <Route path="/admin/webhooks" element={<WebhooksPage />} />}
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
