import { z } from 'zod';
import { auditSection } from './audit';
import { gatewaySection } from './gateway';
import { limitsSection } from './limits';
import { managedSettingsSection } from './managed-settings';
import { modelsSection, type ModelTarget } from './models';
import { policySection } from './policy';
import { providersSection } from './providers';
import { routesSection } from './routes';
import { siemSection } from './siem';
import { ssoSection } from './sso';
import { tenantSection } from './tenant';

type Issues = z.core.$ZodRawIssue[];
type IssuePath = (string | number)[];

/**
 * Names that point at other sections must resolve, so a typo fails at load time (with its line)
 * rather than as a 500 on the first request that takes that route.
 */
function checkReferences(config: z.output<typeof baseSchema>, issues: Issues): void {
  const knownProvider = (name: string) => Object.hasOwn(config.providers, name);
  const checkTargets = (targets: ModelTarget[], at: IssuePath) => {
    targets.forEach((target, index) => {
      if (!knownProvider(target.provider)) {
        issues.push({
          code: 'custom',
          input: target.provider,
          path: [...at, index, 'provider'],
          message: `unknown provider "${target.provider}" (define it under providers)`,
        });
      } else if (target.api !== undefined && config.providers[target.provider]!.type !== 'bedrock') {
        issues.push({ code: 'custom', input: target.api, path: [...at, index, 'api'], message: '`api` chooses between Bedrock APIs: only for a provider of type bedrock' });
      }
    });
  };

  for (const [id, model] of Object.entries(config.models)) checkTargets(model.targets, ['models', id, 'targets']);
  config.routes.forEach((route, index) => {
    if (route.model !== undefined && !Object.hasOwn(config.models, route.model)) {
      issues.push({
        code: 'custom',
        input: route.model,
        path: ['routes', index, 'model'],
        message: `unknown model "${route.model}" (define it under models)`,
      });
    }
    if (route.targets) checkTargets(route.targets, ['routes', index, 'targets']);
  });
  const { default_model: defaultModel, map_unknown_claude_models: mapUnknown } = config.gateway;
  if (defaultModel !== undefined && !Object.hasOwn(config.models, defaultModel)) {
    issues.push({ code: 'custom', input: defaultModel, path: ['gateway', 'default_model'], message: `unknown model "${defaultModel}" (define it under models)` });
  }
  if (mapUnknown && defaultModel === undefined) {
    issues.push({ code: 'custom', input: mapUnknown, path: ['gateway', 'map_unknown_claude_models'], message: 'needs gateway.default_model: the model unknown Claude ids are served by' });
  }
}

const baseSchema = z.strictObject({
  tenant: tenantSection,
  audit: auditSection,
  providers: providersSection,
  models: modelsSection,
  routes: routesSection,
  policy: policySection,
  limits: limitsSection,
  gateway: gatewaySection,
  managed_settings: managedSettingsSection,
  sso: ssoSection,
  siem: siemSection,
});

export const gatehouseConfigSchema = baseSchema.check((ctx) => checkReferences(ctx.value, ctx.issues));

export type GatehouseConfig = z.output<typeof gatehouseConfigSchema>;
export type { TenantConfig } from './tenant';
export type { AuditConfig } from './audit';
export type { GatewayConfig } from './gateway';
export type { ProviderConfig, ProviderType, RemoteImageMode } from './providers';
export type { ModelConfig, ModelPriceConfig, ModelTarget } from './models';
export type { RouteConfig } from './routes';
export type { SiemConfig, SiemConfigSink, SiemSinkType } from './siem';
export { SIEM_SINK_TYPES } from './siem';
export type { PolicyConfig } from './policy';
export type { BudgetEnforcement, BudgetPeriod, BudgetRule, LimitMatch, LimitsConfig, RateLimitRule } from './limits';
export type { ManagedSettingsConfig, ManagedSettingsEntry } from './managed-settings';
export { BUDGET_ENFORCEMENTS, BUDGET_PERIODS, budgetId, budgetRule } from './limits';
export { PROVIDER_TYPES } from './providers';
