import { z } from 'zod';
import { modelTarget } from './models';

const nonEmpty = z.string().trim().min(1);

/** Every condition given must hold; an empty match catches every request. */
const routeMatch = z
  .strictObject({
    department: nonEmpty.optional(),
    role: nonEmpty.optional(),
    // The model id the client asked for.
    model: nonEmpty.optional(),
    call_source: nonEmpty.optional(),
  })
  .prefault({});

const route = z
  .strictObject({
    match: routeMatch,
    // Send matching requests to a model defined under `models`...
    model: nonEmpty.optional(),
    // ...or straight to explicit upstream targets.
    targets: z.array(modelTarget).min(1).optional(),
    // Refuse a request on this route whose worst-case cost exceeds this (integer microdollars).
    max_cost_microdollars: z.int().min(0).optional(),
  })
  .check((ctx) => {
    const { model, targets } = ctx.value;
    if ((model === undefined) === (targets === undefined)) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: model === undefined ? 'a route needs either `model` or `targets`' : 'set either `model` or `targets`, not both',
      });
    }
  });

/** Evaluated top to bottom; the first matching route wins. */
export const routesSection = z.array(route).default([]);

export type RouteConfig = z.infer<typeof route>;
