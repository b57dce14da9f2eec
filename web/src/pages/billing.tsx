// Settings → Usage & Billing: plan and member usage; read-only for those who cannot pay.
import { Workspace } from '../api';
import { usePermissions } from '../permissions';
import { Badge, Card } from '../ui';

export function Billing(props: { ws: Workspace }) {
  const ws = props.ws;
  const perms = usePermissions(ws.id);
  const pct = ws.member_limit > 0 ? Math.min(100, Math.round((ws.member_count / ws.member_limit) * 100)) : 0;
  const status = ws.subscription_status || 'none';
  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Usage & Billing</h1>
          <p class="muted">Your plan and how much of it the workspace uses.</p>
        </div>
      </header>
      {!perms.can('billing.view') && (
        <p class="notice-box" role="note">
          You can see the plan and usage. Only workspace owners can change billing.
        </p>
      )}
      <Card title="Plan">
        <dl class="facts">
          <div>
            <dt>Current plan</dt>
            <dd>{ws.plan ? ws.plan[0].toUpperCase() + ws.plan.slice(1) : 'None'}</dd>
          </div>
          <div>
            <dt>Subscription</dt>
            <dd>
              <Badge tone={status === 'active' ? 'green' : status === 'trialing' ? 'blue' : 'yellow'}>{status[0].toUpperCase() + status.slice(1)}</Badge>
            </dd>
          </div>
        </dl>
      </Card>
      <Card title="Usage">
        <div class="usage">
          <div class="usage-label">
            <span id="members-usage">Team members</span>
            <span>
              {ws.member_count} of {ws.member_limit || '∞'} · {pct}%
            </span>
          </div>
          <div class="meter" role="progressbar" aria-labelledby="members-usage" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
            <span class={pct >= 90 ? 'meter-fill warn' : 'meter-fill'} ref={(el) => {
              if (el) el.style.width = pct + '%';
            }} />
          </div>
        </div>
      </Card>
      {perms.can('billing.manage_payment') && (
        <Card title="Payment">
          <p class="muted">No payment provider is connected to this Gatehouse deployment; plans and limits are set in its configuration file.</p>
        </Card>
      )}
    </div>
  );
}
