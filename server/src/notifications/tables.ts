/** The notifications' table, written by triggers and read with SQL rather than mapped (a schema diff leaves it alone). */
export const NOTIFICATION_TABLES = ['notification'];
