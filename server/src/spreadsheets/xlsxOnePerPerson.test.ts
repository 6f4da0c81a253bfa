/**
 * One xlsx workbook read at a time per person (found in a security QA pass): a read holds one of the instance's
 * few reader processes for up to its time limit, so one person sending honest-looking workbooks in a loop kept
 * everyone else's xlsx imports waiting. A person's second workbook while the first is being read is answered 429
 * RATE_LIMITED with Retry-After; somebody else's is read as ever, and the person's next, once the first is
 * answered, too. CSV, read as it streams on no reader, is not limited. The first upload is held open (its body
 * not yet ended) while the others are sent: no timing decides who comes first.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { startTestServer, type TestServer } from '../testing/harness.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

describe('xlsx imports, one at a time per person', () => {
  let server: TestServer;
  let planId: string;
  let viewer: string;
  let lead: string;
  let workbook: Buffer;

  beforeAll(async () => {
    server = await startTestServer();
    viewer = await server.login('viewer.sales-north@example.com');
    lead = await server.login('lead.marketing@example.com');
    [{ id: planId }] = await server.sql(`SELECT id FROM budget_plan`);
    const res = await fetch(`${server.url}/export/budget-lines.xlsx?planId=${planId}&businessUnitCode=SALES_NORTH`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(res.status).toBe(200);
    workbook = Buffer.from(await res.arrayBuffer());
  }, 60_000);
  afterAll(() => server?.stop());

  const path = () => `/import/budget-lines?planId=${planId}&dryRun=true`;
  const post = async (token: string, body: Buffer | string, type = XLSX) => {
    const res = await fetch(`${server.url}${path()}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as any };
  };

  /** An upload whose body is sent in two halves: the second on `finish`; `abort` hangs up before it. */
  function heldUpload(token: string) {
    // A connection of its own (no agent): a kept-alive one the server has since closed would fail unseen.
    const req = http.request(new URL(path(), server.url), {
      agent: false,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': XLSX, 'content-length': workbook.length },
    });
    const answer = new Promise<{ status: number; json: any }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      });
      req.on('error', reject);
    });
    const firstHalfSent = new Promise<void>((resolve) => req.write(workbook.subarray(0, workbook.length / 2), () => resolve()));
    return { answer, firstHalfSent, finish: () => req.end(workbook.subarray(workbook.length / 2)), abort: () => req.destroy() };
  }

  /**
   * An upload of `token`'s held open, once it holds the person's place: a probe upload is refused then. The probe is
   * no zip archive, so one that finds the place free costs no workbook read (it is answered 400 at once). A probe
   * that came first takes the place itself for that moment, and the held upload may be refused: then it is sent
   * again.
   */
  const probe = Buffer.from('not a workbook');
  async function holdPlace(token: string) {
    for (;;) {
      const held = heldUpload(token);
      let refused = false;
      held.answer.then((a) => (refused = a.status === 429), () => (refused = true));
      await held.firstHalfSent;
      for (;;) {
        const { status } = await post(token, probe);
        if (status === 429) return held;
        expect(status).toBe(400);
        if (refused) break;
      }
    }
  }

  it("answers a person's second workbook RATE_LIMITED while the first is read, and reads everybody else's", async () => {
    const first = await holdPlace(viewer);
    const second = await post(viewer, workbook);
    expect(second.status).toBe(429);
    expect(second.json.error.code).toBe(ErrorCode.RATE_LIMITED);
    expect(Number(second.retryAfter)).toBeGreaterThan(0);
    // Somebody else's workbook, and the person's own CSV, go on.
    const other = await post(lead, workbook);
    expect(other.status).toBe(200);
    const csv = await post(viewer, 'Line id,Budget amount\n', 'text/csv');
    expect(csv.status).toBe(200);

    first.finish();
    const answered = await first.answer;
    expect(answered.status).toBe(200);
    expect(answered.json).toMatchObject({ applied: 0, rejected: [] });
    // Answered: the person's next workbook is read.
    expect((await post(viewer, workbook)).status).toBe(200);
  });

  it('frees the place of a workbook that could not be read, and of a client that hung up', async () => {
    const broken = await post(viewer, Buffer.from('PK\u0003\u0004 not really a workbook'));
    expect(broken.status).toBe(400);
    expect((await post(viewer, workbook)).status).toBe(200);

    const gone = await holdPlace(viewer);
    gone.answer.catch(() => undefined);
    // The client goes before its body ends: the server's read of it fails, and the place is free again.
    gone.abort();
    await expect.poll(async () => (await post(viewer, workbook)).status).toBe(200);
  });
});
