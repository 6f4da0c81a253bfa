/**
 * The demo data of CONTRACT.md, seeded once into an empty database.
 *
 * "Empty" means no business unit exists. The check and the inserts run in one transaction under a
 * transaction-level advisory lock, so two instances starting on one database, or a restart after a crash
 * half-way, can never seed twice: either everything was committed or nothing was.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { hashPassword } from './auth/passwords.js';
import { BudgetLine } from './budget/BudgetLine.js';
import { BudgetPlan } from './budget/BudgetPlan.js';
import { linePosition, PRODUCT_CATEGORIES, QUARTERS, REGIONS } from './budget/planLayout.js';
import { BudgetSubmission } from './budget/BudgetSubmission.js';
import { BusinessUnit } from './directory/BusinessUnit.js';
import { Organization } from './directory/Organization.js';
import { StudioCompany } from './directory/StudioCompany.js';
import { SystemGroup } from './directory/SystemGroup.js';
import { User } from './directory/User.js';
import type { Role } from './directory/role.js';

export const DEMO_PASSWORD = 'plansync-demo';

export const DEMO_UNITS = [
  { code: 'SALES_NORTH', name: 'Sales North', slug: 'sales-north' },
  { code: 'SALES_SOUTH', name: 'Sales South', slug: 'sales-south' },
  { code: 'MARKETING', name: 'Marketing', slug: 'marketing' },
  { code: 'OPERATIONS', name: 'Operations', slug: 'operations' },
  { code: 'FINANCE', name: 'Finance', slug: 'finance' },
] as const;

// The grid's layout is budget/'s (plans created by admins are laid out alike); re-exported for the tests.
export { PRODUCT_CATEGORIES, REGIONS, QUARTERS };

export const DEMO_PLAN = { name: 'FY2027 Budget', fiscalYear: 2027 };
export const DEMO_ORGANIZATION = 'Acme Partners';

const SEED_LOCK_KEY = 0x73656564; // "seed"

interface DemoUser {
  email: string;
  displayName: string;
  role: Role;
  unitCodes: string[];
  organization?: boolean;
}

function titleCase(slug: string): string {
  return slug
    .split('-')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ');
}

export function demoUsers(): DemoUser[] {
  const users: DemoUser[] = [
    { email: 'admin@example.com', displayName: 'Ada Admin', role: 'ADMIN', unitCodes: [] },
    { email: 'analyst@example.com', displayName: 'Ann Analyst', role: 'ANALYST', unitCodes: [] },
  ];
  for (const unit of DEMO_UNITS) {
    const name = titleCase(unit.slug);
    users.push(
      { email: `lead.${unit.slug}@example.com`, displayName: `${name} Lead`, role: 'BU_LEADER', unitCodes: [unit.code] },
      { email: `planner.${unit.slug}@example.com`, displayName: `${name} Planner`, role: 'BU_LEADER', unitCodes: [unit.code] },
      { email: `viewer.${unit.slug}@example.com`, displayName: `${name} Viewer`, role: 'VIEWER', unitCodes: [unit.code] },
    );
  }
  users.push({
    email: 'partner.admin@acme.example',
    displayName: 'Acme Partner Admin',
    role: 'PARTNER_ADMIN',
    unitCodes: [],
    organization: true,
  });
  return users;
}

/**
 * Last year's actuals: deterministic, plausible figures (category size x region weight x quarter season x
 * unit scale), rounded to the thousand, so every fresh database shows the same numbers.
 */
export function priorYearActual(unitIndex: number, category: number, region: number, quarter: number): number {
  const categoryBase = [420, 260, 610, 330, 280, 510][category];
  const regionWeight = [1.0, 0.85, 0.7, 0.4, 0.3][region];
  const season = [0.9, 0.95, 1.0, 1.25][quarter];
  const unitScale = [1.2, 1.0, 0.45, 0.6, 0.35][unitIndex];
  return Math.round(categoryBase * regionWeight * season * unitScale) * 1000;
}

/** Seeds the demo data when the database has no business unit yet. Returns true when it seeded. */
export async function seedDemoData(em: EntityManager): Promise<boolean> {
  return em.transactional(async (tx) => {
    // On the transaction's connection (without its context, execute would take another pooled connection and
    // the lock would end at once): replicas starting together seed once.
    await tx.getConnection().execute('SELECT pg_advisory_xact_lock(?)', [SEED_LOCK_KEY], 'all', tx.getTransactionContext());
    if ((await tx.count(BusinessUnit, {})) > 0) return false;

    // Acme Partners is already onboarded: its Studio companies and tool groups exist, so people can be
    // added to it with new_partner_user straight away.
    const organization = tx.create(Organization, { name: DEMO_ORGANIZATION });
    tx.create(StudioCompany, { organization, name: 'Acme Partners', environment: 'prod', externalId: 'studio-prod-acme' });
    tx.create(StudioCompany, { organization, name: 'Acme Partners Sandbox', environment: 'test', externalId: 'studio-test-acme' });
    tx.create(SystemGroup, { organization, tool: 'metabase', name: 'Acme Partners analysts', externalId: 'metabase-group-acme' });
    tx.create(SystemGroup, { organization, tool: 'teams', name: 'Acme Partners', externalId: 'team-acme/channel-acme' });
    tx.create(SystemGroup, { organization, tool: 'slack', name: 'Acme Partners', externalId: 'slack-group-acme' });
    tx.create(SystemGroup, { organization, tool: 'lms', name: 'Acme Partners', externalId: 'lms-tenant-acme' });
    const plan = tx.create(BudgetPlan, DEMO_PLAN);
    const units = new Map<string, BusinessUnit>();
    DEMO_UNITS.forEach((u, unitIndex) => {
      const unit = tx.create(BusinessUnit, { code: u.code, name: u.name });
      units.set(u.code, unit);
      tx.create(BudgetSubmission, { plan, businessUnit: unit, status: 'DRAFT' });
      PRODUCT_CATEGORIES.forEach((productCategory, c) =>
        REGIONS.forEach((region, r) =>
          QUARTERS.forEach((quarter, q) =>
            tx.create(BudgetLine, {
              plan,
              businessUnit: unit,
              productCategory,
              region,
              quarter,
              position: linePosition(c, r, q),
              priorYearActual: priorYearActual(unitIndex, c, r, q),
              budgetAmount: null,
              forecastSales: null,
              comment: '',
              version: 1,
            }),
          ),
        ),
      );
    });

    const people = demoUsers();
    const hashes = await Promise.all(people.map(() => hashPassword(DEMO_PASSWORD)));
    for (const [i, u] of people.entries()) {
      const user = tx.create(User, {
        email: u.email,
        displayName: u.displayName,
        role: u.role,
        passwordHash: hashes[i],
        organization: u.organization ? organization : null,
      });
      for (const code of u.unitCodes) user.businessUnits.add(units.get(code)!);
    }
    return true;
  });
}
