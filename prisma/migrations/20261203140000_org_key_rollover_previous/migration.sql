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

-- Before this migration a rotation read the active key outside its lock, so two rotations at once
-- could both endorse the same key: a forked chain, which the unique index below would refuse. The
-- newest successor of each such key keeps the link (it is the key signing now: the newest active
-- key is the one loaded); the others lose it, are retired, and their rollover statements are no
-- longer published, so devices follow one chain. The operator is told to rotate again, which
-- moves every process and device onto a key of a single chain.
DO $$
DECLARE
  fork RECORD;
BEGIN
  FOR fork IN
    SELECT "previous_kid", array_agg("kid" ORDER BY "created_at" DESC, "kid" DESC) AS successors
      FROM "org_signing_keys"
     WHERE "previous_kid" IS NOT NULL
     GROUP BY "previous_kid"
    HAVING count(*) > 1
  LOOP
    UPDATE "org_signing_keys"
       SET "previous_kid" = NULL,
           "endorsement" = NULL,
           "status" = 'retired',
           "retired_at" = COALESCE("retired_at", CURRENT_TIMESTAMP)
     WHERE "kid" = ANY (fork.successors[2:]);
    RAISE NOTICE 'organisation key % was endorsed by two rotations at once (successors %); % is kept, the others were retired and their rollover statements withdrawn: run `gatehouse plugins rotate-key` again, and re-pin devices that followed a withdrawn key',
      fork."previous_kid", array_to_string(fork.successors, ', '), fork.successors[1];
  END LOOP;
END $$;

-- A key that endorses a successor does so once: two rotations from the same key would fork the chain.
CREATE UNIQUE INDEX "org_signing_keys_previous_kid_key" ON "org_signing_keys"("previous_kid");
