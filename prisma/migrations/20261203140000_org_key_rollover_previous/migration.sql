-- lib/signing: each rotated-in organisation key records the key it replaced (the one that signed
-- its rollover statement), so a rollover is bound to its `previous` key in the database as well as
-- in the statement. Keys created before this column existed take it from their statement.
ALTER TABLE "org_signing_keys" ADD COLUMN "previous_kid" TEXT;

UPDATE "org_signing_keys"
   SET "previous_kid" = convert_from(
         decode(
           rpad(translate(split_part("endorsement", '.', 2), '-_', '+/'),
                ((length(split_part("endorsement", '.', 2)) + 3) / 4) * 4, '='),
           'base64'),
         'UTF8')::jsonb ->> 'previous'
 WHERE "endorsement" IS NOT NULL;

-- A key that endorses a successor does so once: two rotations from the same key would fork the chain.
CREATE UNIQUE INDEX "org_signing_keys_previous_kid_key" ON "org_signing_keys"("previous_kid");
