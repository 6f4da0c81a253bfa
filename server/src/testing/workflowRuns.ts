/**
 * Runs of the new_partner onboarding for tests: started through GraphQL on a test server (harness.ts or
 * restartableServer.ts), its manual companies step answered as soon as it waits, so that the run goes on by itself.
 */
import { eventually } from './gridClients.js';

/** What both test servers offer. */
interface GraphQLTarget {
  gql(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<{ data?: any; errors?: unknown }>;
}

/** Starts a new_partner run for organisation `name`; its id. */
export async function startNewPartnerRun(server: GraphQLTarget, token: string, name: string): Promise<string> {
  const res = await server.gql(`mutation($n: String!) { startWorkflow(definitionKey: "new_partner", input: { organizationName: $n }) { id } }`, { n: name }, token);
  return res.data.startWorkflow.id as string;
}

/** Gives run `id` its one studio company once its companies step waits for input. */
export async function answerCompaniesStep(server: GraphQLTarget, token: string, id: string): Promise<void> {
  await eventually(async () => {
    const res = await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "input_studio_companies", input: { companies: [{ name: "HQ", environment: "prod" }] }) { id } }`,
      { id },
      token,
    );
    return !res.errors;
  }, 'the companies step to wait for input');
}

/** A new_partner run that goes on by itself to completion (its manual step answered); its id. */
export async function runNewPartner(server: GraphQLTarget, token: string, name: string): Promise<string> {
  const id = await startNewPartnerRun(server, token, name);
  await answerCompaniesStep(server, token, id);
  return id;
}
