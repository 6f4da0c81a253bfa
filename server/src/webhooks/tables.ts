/** The webhooks' tables, written with SQL rather than mapped entities (a schema diff must leave them alone). */
export const WEBHOOK_TABLES = ['webhook', 'webhook_delivery', 'webhook_outbox'];
