import { Migration } from '@mikro-orm/migrations';

/**
 * A row added to the webhook outbox is announced with pg_notify on `plansync_webhook_outbox`, which PostgreSQL
 * delivers at commit (never for a rollback, and once per transaction for the same payload) to every instance
 * LISTENing: the dispatcher takes the rows at once, whichever instance, job or script made the change, instead
 * of asking PostgreSQL every second whether there are any (webhooks/webhooks.ts).
 */
export class Migration20261206060000_WebhookOutboxNotify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create or replace function webhook_outbox_add(p_event text, p_data jsonb) returns void language plpgsql as $$
begin
  if exists (select 1 from webhook w where w.active and p_event = any(w.events)) then
    insert into webhook_outbox (event, data) values (p_event, p_data);
    perform pg_notify('plansync_webhook_outbox', '');
  end if;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`
create or replace function webhook_outbox_add(p_event text, p_data jsonb) returns void language plpgsql as $$
begin
  if exists (select 1 from webhook w where w.active and p_event = any(w.events)) then
    insert into webhook_outbox (event, data) values (p_event, p_data);
  end if;
end $$;`);
  }
}
