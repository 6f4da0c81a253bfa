import { Migration } from '@mikro-orm/migrations';

/**
 * STEP_AWAITING_INPUT notifications follow the workflow policy (policies/workflowExecution.ts): a partner admin
 * drives their organisation's `offboard_partner_user` runs too (issue 17), so its confirmation is theirs to give.
 */
export class Migration20261204043000_OffboardingNotifications extends Migration {
  override async up(): Promise<void> {
    this.addSql(mayAnswer(`p_event.definition_key in ('new_partner_user', 'offboard_partner_user')`));
  }

  override async down(): Promise<void> {
    this.addSql(mayAnswer(`p_event.definition_key = 'new_partner_user'`));
  }
}

function mayAnswer(partnerAdminWorkflows: string): string {
  return `
create or replace function notification_may_answer(p_user app_user, p_event workflow_event) returns boolean language sql stable as $$
  select (case p_user.role
            when 'ADMIN' then true
            when 'PARTNER_ADMIN' then ${partnerAdminWorkflows} and p_user.organization_id is not null
                                      and p_user.organization_id = p_event.organization_id
            when 'ANALYST' then p_event.definition_key = 'budget_submission'
            when 'BU_LEADER' then p_event.definition_key = 'budget_submission' and p_event.business_unit_id is not null
                                  and exists (select 1 from user_business_unit m where m.user_id = p_user.id and m.business_unit_id = p_event.business_unit_id)
            else false end)
     and (case when p_event.definition_key = 'budget_submission' and p_event.step_key = 'finance_review' then p_user.role in ('ANALYST', 'ADMIN')
               else true end);
$$;`;
}
