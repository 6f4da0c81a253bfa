/**
 * A local stand-in for the Slack Web API methods the Slack adapter calls, for tests: plain http on 127.0.0.1 at
 * `<url>/api/<method>` (SLACK_API_URL = `apiUrl`), forms or JSON as @slack/web-api posts them, answers as Slack
 * gives them: HTTP 200 with `{ ok: true, ... }` or `{ ok: false, error }`, 429 with Retry-After when rate limited.
 * Every call needs `Authorization: Bearer <token>` (`invalid_auth` otherwise).
 *
 *   usergroups.create { name, handle, description }  name_already_exists / handle_already_exists
 *   usergroups.list { include_disabled }     usergroups.enable / usergroups.disable { usergroup }
 *   usergroups.users.list { usergroup, include_disabled }   usergroups.users.update { usergroup, users: "U1,U2" }
 *   users.lookupByEmail { email }            users_not_found
 *
 * Assumed where Slack's documentation says nothing: disabling a disabled group answers `already_disabled`,
 * and an empty `users` list is refused (`no_users_provided`).
 */
import { startFakeHttpService, type FakeHttpService } from './fakeHttpService.js';

export interface FakeSlack extends FakeHttpService {
  apiUrl: string;
  token: string;
  usergroups: { id: string; name: string; handle: string; description: string; date_delete: number; users: string[] }[];
  /** The workspace's people: email -> user id. */
  people: Map<string, string>;
}

export async function startFakeSlack(token = 'xoxb-test-token', people: Record<string, string> = {}): Promise<FakeSlack> {
  const usergroups: FakeSlack['usergroups'] = [];
  const peopleMap = new Map(Object.entries(people).map(([email, id]) => [email.toLowerCase(), id]));
  let next = 1;
  const ok = (body: Record<string, unknown> = {}) => ({ status: 200, body: { ok: true, ...body } });
  const refuse = (error: string) => ({ status: 200, body: { ok: false, error } });
  const flag = (v: unknown) => v === true || v === 'true' || v === '1';
  const view = (g: FakeSlack['usergroups'][number]) => ({ id: g.id, team_id: 'T0001', is_usergroup: true, name: g.name, handle: g.handle, description: g.description, date_delete: g.date_delete, users: g.users });

  const service = await startFakeHttpService({
    route: (method, url) => {
      const name = /^\/api\/([\w.]+)$/.exec(url.pathname)?.[1];
      return method === 'POST' && name ? { route: name, params: [] } : undefined;
    },
    authorise: (req) => (req.headers.authorization === `Bearer ${token}` ? undefined : refuse('invalid_auth')),
    failure: (_route, f) => (f.status === 429 ? { status: 429, body: { ok: false, error: 'ratelimited' } } : { status: f.status, body: 'upstream error' }),
    act(route, _params, body) {
      const b = (body ?? {}) as Record<string, unknown>;
      const group = () => usergroups.find((g) => g.id === b.usergroup);
      switch (route) {
        case 'usergroups.create': {
          const name = String(b.name ?? '');
          if (!name.trim()) return refuse('invalid_name');
          if (usergroups.some((g) => g.name.toLowerCase() === name.toLowerCase())) return refuse('name_already_exists');
          const handle = String(b.handle ?? name.toLowerCase());
          if (usergroups.some((g) => g.handle === handle)) return refuse('handle_already_exists');
          const created = { id: `S${String(next++).padStart(8, '0')}`, name, handle, description: String(b.description ?? ''), date_delete: 0, users: [] };
          usergroups.push(created);
          return ok({ usergroup: view(created) });
        }
        case 'usergroups.list':
          return ok({ usergroups: usergroups.filter((g) => flag(b.include_disabled) || g.date_delete === 0).map(view) });
        case 'usergroups.enable':
        case 'usergroups.disable': {
          const g = group();
          if (!g) return refuse('no_such_subteam');
          const disable = route === 'usergroups.disable';
          if (disable && g.date_delete) return refuse('already_disabled');
          if (!disable && !g.date_delete) return refuse('already_enabled');
          g.date_delete = disable ? Math.floor(Date.now() / 1000) : 0;
          return ok({ usergroup: view(g) });
        }
        case 'usergroups.users.list': {
          const g = group();
          if (!g || (g.date_delete && !flag(b.include_disabled))) return refuse('no_such_subteam');
          return ok({ users: g.users });
        }
        case 'usergroups.users.update': {
          const g = group();
          if (!g) return refuse('no_such_subteam');
          const users = String(b.users ?? '').split(',').filter(Boolean);
          if (users.length === 0) return refuse('no_users_provided');
          if (users.some((u) => ![...peopleMap.values()].includes(u))) return refuse('invalid_users');
          g.users = [...new Set(users)];
          return ok({ usergroup: view(g) });
        }
        case 'users.lookupByEmail': {
          const id = peopleMap.get(String(b.email ?? '').toLowerCase());
          return id ? ok({ user: { id, profile: { email: b.email } } }) : refuse('users_not_found');
        }
      }
      return refuse('unknown_method');
    },
  });
  return { ...service, apiUrl: `${service.url}/api`, token, usergroups, people: peopleMap };
}
