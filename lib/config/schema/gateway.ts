import { z } from 'zod';
import { modelId } from './models';

export const gatewaySection = z
  .strictObject({
    // A gateway call whose end nobody recorded (the process was killed mid-stream) is closed by the
    // worker's reconciler this long after it started: an `inference.response` with outcome
    // `unknown` and a ledger entry at the admission estimate. Budget reservations lapse after the
    // same time, so a crash never holds a budget longer. Keep it above the longest answer you
    // expect: a call still running then is closed as unknown, and corrected when it does end.
    reconcile_after_seconds: z.int().min(1).max(7 * 86_400).default(3_600),
    // The model (an id under `models`) that Claude model ids this gateway does not serve are mapped
    // to when map_unknown_claude_models is on. Claude Code signed in to a gateway asks for its own
    // default (claude-opus-4-7 today) unless managed settings name a model.
    default_model: modelId.optional(),
    // Serve a request for a `claude-…` id that no route or model entry knows with default_model,
    // instead of refusing it (400). The request event records both ids. Off by default: a wrong
    // model is otherwise an error the user sees.
    map_unknown_claude_models: z.boolean().default(false),
  })
  .prefault({});

export type GatewayConfig = z.infer<typeof gatewaySection>;
