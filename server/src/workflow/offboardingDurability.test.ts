/**
 * An offboarding survives its process: killed in the middle of removing a person's access, it runs that step
 * again after a restart (the removals are idempotent) and finishes, with each removal recorded exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { restartableServer, type RestartableServer } from '../testing/restartableServer.js';

const servers: RestartableServer[] = [];
afterAll(async () => {
  for (const s of servers.reverse()) await s.destroy();
});

/** What new_partner_user grants a person of Acme Partners (onboarding at this latency would take minutes). */
const ACME_GRANTS = [
  ['lms', 'Acme Partners'],
  ['metabase', 'Acme Partners analysts'],
  ['slack', 'Acme Partners'],
  ['studio', 'Acme Partners'],
  ['studio', 'Acme Partners Sandbox'],
  ['teams', 'Acme Partners'],
];

describe('offboarding durability', () => {
  it('finishes an offboarding whose process was killed mid-removal, recording each removal once', async () => {
    const server = await restartableServer({
      SIMULATED_STEP_MS: '1500',
      // A step running this long is presumed dead with its process; look for such jobs every second.
      WORKFLOW_STEP_TIMEOUT_SECONDS: '3',
      WORKFLOW_MAINTENANCE_SECONDS: '1',
    });
    servers.push(server);
    await server.start();
    const admin = await server.login('admin@example.com');
    const [{ id: acme }] = await server.sql(`SELECT id FROM organization WHERE name = 'Acme Partners'`);
    const email = 'killed.midway@acme.example';
    const created = await server.gql(
      `mutation($e: String!, $o: ID!) { createUser(input: { email: $e, displayName: "Killed Midway", role: PARTNER_USER, organizationId: $o }) { user { id } } }`,
      { e: email, o: acme },
      admin,
    );
    const userId = created.data.createUser.user.id;
    for (const [system, resource] of ACME_GRANTS) {
      await server.sql('INSERT INTO access_grant (id, user_id, system, resource) VALUES (gen_random_uuid(), $1, $2, $3)', [userId, system, resource]);
    }

    const started = await server.gql(`mutation($u: ID!) { startWorkflow(definitionKey: "offboard_partner_user", input: { userId: $u }) { id } }`, { u: userId }, admin);
    const id = started.data.startWorkflow.id;
    await eventually(async () => {
      const res = await server.gql(`mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "confirm_offboarding", input: { confirm: true }) { id } }`, { id }, admin);
      return !res.errors;
    }, 'the confirmation to be taken');
    // Two Studio companies at 1.5 s each: the process dies while the first removals are being made.
    await eventually(async () => {
      const [step] = await server.sql(`SELECT status FROM step_execution WHERE execution_id = $1 AND key = 'remove_from_studio_companies'`, [id]);
      return step.status === 'RUNNING';
    }, 'the Studio removals to be running');
    await server.stop('SIGKILL');

    await server.start();
    await eventually(async () => {
      const [execution] = await server.sql(`SELECT status FROM workflow_execution WHERE id = $1`, [id]);
      return execution.status === 'COMPLETED';
    }, 'the offboarding to finish after the kill', 90_000);
    expect(await server.sql(`SELECT 1 FROM access_grant WHERE user_id = $1`, [userId])).toEqual([]);
    const removals = await server.sql(`SELECT details->>'system' AS system, details->>'name' AS name FROM activity_entry WHERE action = 'ACCESS_REMOVED' AND subject = $1`, [email]);
    expect(removals.map((r) => [r.system, r.name]).sort()).toEqual(ACME_GRANTS);
    expect(await server.sql(`SELECT active FROM app_user WHERE id = $1`, [userId])).toEqual([{ active: false }]);
    expect(await server.sql(`SELECT 1 FROM activity_entry WHERE action = 'USER_DEACTIVATED' AND subject = $1`, [email])).toHaveLength(1);
  });
});
