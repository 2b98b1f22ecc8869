-- When a user last reached the gateway (any client, any session), so administrators can find
-- seats nobody uses. Written at most every few minutes per session (lib/users/activity.ts).
ALTER TABLE "users" ADD COLUMN "last_active_at" TIMESTAMPTZ(3);
