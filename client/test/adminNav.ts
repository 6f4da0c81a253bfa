/**
 * The administration sections are reached through "Admin" in the main navigation, then the section in the
 * admin area's own navigation (client/src/layout/Shell.tsx): how browser tests open them, and how they check
 * what a person is offered there.
 */
import type { Page } from 'playwright-core';

const adminEntry = (page: Page) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin', exact: true });

/** Opens an admin section (its link text, e.g. "Sign-ins") as a person does: Admin, then the section. */
export async function openAdminSection(page: Page, section: string): Promise<void> {
  await adminEntry(page).click();
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: section, exact: true }).click();
}

/**
 * The admin sections offered to the person: the admin area's navigation after following "Admin", or none when
 * there is no "Admin" entry (waits for the main navigation first, so an empty answer is not a page still loading).
 */
export async function offeredAdminSections(page: Page): Promise<string[]> {
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  if ((await adminEntry(page).count()) === 0) return [];
  await adminEntry(page).click();
  const nav = page.getByRole('navigation', { name: 'Admin' });
  await nav.waitFor();
  return nav.getByRole('link').allTextContents();
}
