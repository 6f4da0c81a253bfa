/**
 * Set-password links by e-mail: when SMTP_URL is set (config.ts), createUser and resetPassword also send the
 * person their link, through nodemailer. The mail goes once the transaction committed (a rolled-back
 * invitation is never mailed), and it is a convenience on top of the link the admin is shown: a failure is
 * logged (without the link, which works as a password) and reported in the answer (`UserInvitation.emailSent`),
 * and undoes nothing.
 *
 * One connection per mail (no pool): invitations are rare, and nothing stays open for a stopping server to close.
 */
import type nodemailerModule from 'nodemailer';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';

export type InvitationKind = 'CREATED' | 'RESET';

export interface InvitationMail {
  to: { email: string; displayName: string };
  setPasswordUrl: string;
  expiresAt: Date;
  kind: InvitationKind;
}

/** How long one mail may take, connecting included, before it counts as failed (the admin is waiting). */
const SMTP_TIMEOUT_MS = 15_000;

export const INVITATION_SUBJECTS: Record<InvitationKind, string> = {
  CREATED: 'Your Plansync account: choose a password',
  RESET: 'Your Plansync password was reset: choose a new one',
};

/** The text of the mail: who it is for, why, the link and until when it works. */
export function invitationText(mail: InvitationMail): string {
  const why =
    mail.kind === 'CREATED'
      ? 'An administrator created a Plansync account for you.'
      : 'An administrator reset your Plansync password; the old one no longer works.';
  return [
    `Hello ${mail.to.displayName},`,
    '',
    why,
    'Choose your password with this link. It works once, until ' + mail.expiresAt.toUTCString() + ':',
    '',
    mail.setPasswordUrl,
    '',
    'If you did not expect this, ignore this mail and tell your administrator.',
    '',
  ].join('\n');
}

let nodemailerLoaded: Promise<typeof nodemailerModule> | undefined;

/** nodemailer (about 2.4 MB of heap), loaded with the first mail rather than with the server: see spreadsheets/excel.ts. */
function loadNodemailer(): Promise<typeof nodemailerModule> {
  nodemailerLoaded ??= import('nodemailer').then((mod) => mod.default);
  return nodemailerLoaded;
}

/**
 * Sends the person their set-password link when SMTP is configured: true once the SMTP server accepted the
 * mail, false when sending failed (logged), null when SMTP is not configured. Never throws.
 */
export async function mailInvitation(config: Pick<Config, 'smtp'>, log: Logger, mail: InvitationMail): Promise<boolean | null> {
  if (!config.smtp) return null;
  try {
    const nodemailer = await loadNodemailer();
    const transport = nodemailer.createTransport({
      url: config.smtp.url,
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    });
    await transport.sendMail({
      from: config.smtp.from,
      to: { name: mail.to.displayName, address: mail.to.email },
      subject: INVITATION_SUBJECTS[mail.kind],
      text: invitationText(mail),
    });
    return true;
  } catch (err) {
    // The error names the server and what it answered, never the URL's password or the link.
    log.error({ err: { message: (err as Error).message, code: (err as { code?: string }).code }, to: mail.to.email, kind: mail.kind }, 'could not e-mail a set-password link');
    return false;
  }
}

/** An invitation as the resolvers answer it, with whether its mail went out (see mailInvitation). */
export async function withInvitationMail<T extends { user: { email: string; displayName: string }; setPasswordUrl: string; expiresAt: Date }>(
  services: { config: Pick<Config, 'smtp'>; log: Logger },
  invitation: T,
  kind: InvitationKind,
): Promise<T & { emailSent: boolean | null }> {
  const { user, setPasswordUrl, expiresAt } = invitation;
  const emailSent = await mailInvitation(services.config, services.log, { to: user, setPasswordUrl, expiresAt, kind });
  return { ...invitation, emailSent };
}
