/**
 * One circuit per provider+model, in this process. After `breakerFailureThreshold` consecutive
 * failures the circuit opens and requests skip the target (failing over at once instead of
 * waiting out its timeouts); after `breakerCooldownMs` a single probe goes through, and its
 * outcome closes the circuit or opens it again.
 */
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import { upstreamTuning } from './tuning';

interface Circuit {
  consecutiveFailures: number;
  /** Epoch ms until which the circuit is open; 0 when closed. */
  openUntil: number;
  probeInFlight: boolean;
}

// On globalThis: the dashboard (Next's bundle) reads the same circuits the data plane keeps in
// this process (the policy page shows them live), as with the config store.
const globalCircuits = globalThis as typeof globalThis & { __gatehouseCircuits?: Map<string, Circuit> };
const circuits = (globalCircuits.__gatehouseCircuits ??= new Map<string, Circuit>());

function keyOf(target: Pick<UpstreamTarget, 'provider' | 'model'>): string {
  return `${target.provider}\u0000${target.model}`;
}

function circuitOf(target: UpstreamTarget): Circuit {
  const key = keyOf(target);
  let circuit = circuits.get(key);
  if (!circuit) {
    circuit = { consecutiveFailures: 0, openUntil: 0, probeInFlight: false };
    circuits.set(key, circuit);
  }
  return circuit;
}

export type Admission = 'closed' | 'probe' | 'rejected';

/** Whether a request may go to `target` now; a `probe` admission must be settled by a report. */
export function admit(target: UpstreamTarget, now = Date.now()): Admission {
  const circuit = circuits.get(keyOf(target));
  if (!circuit || circuit.openUntil === 0) return 'closed';
  if (now < circuit.openUntil || circuit.probeInFlight) return 'rejected';
  circuit.probeInFlight = true;
  return 'probe';
}

export function reportSuccess(target: UpstreamTarget): void {
  const circuit = circuits.get(keyOf(target));
  if (!circuit) return;
  circuit.consecutiveFailures = 0;
  circuit.openUntil = 0;
  circuit.probeInFlight = false;
}

export function reportFailure(target: UpstreamTarget, now = Date.now()): void {
  const tuning = upstreamTuning();
  const circuit = circuitOf(target);
  circuit.consecutiveFailures += 1;
  const wasProbe = circuit.probeInFlight;
  circuit.probeInFlight = false;
  if (wasProbe || circuit.consecutiveFailures >= tuning.breakerFailureThreshold) {
    if (circuit.openUntil === 0 || wasProbe) {
      tuning.logger.warn('circuit opened', { provider: target.provider, model: target.model, failures: circuit.consecutiveFailures });
    }
    circuit.openUntil = now + tuning.breakerCooldownMs;
  }
}

/** The request went away before the target could show whether it is healthy. */
export function reportNeutral(target: UpstreamTarget): void {
  const circuit = circuits.get(keyOf(target));
  if (circuit) circuit.probeInFlight = false;
}

export function circuitState(target: Pick<UpstreamTarget, 'provider' | 'model'>): 'closed' | 'open' | 'half_open' {
  const circuit = circuits.get(keyOf(target));
  if (!circuit || circuit.openUntil === 0) return 'closed';
  return Date.now() < circuit.openUntil ? 'open' : 'half_open';
}

/** Forget every circuit (tests, or an operator after fixing an upstream). */
export function resetCircuitBreakers(): void {
  circuits.clear();
}
