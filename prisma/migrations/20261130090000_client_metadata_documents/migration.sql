-- OAuth clients identified by a Client ID Metadata Document URL (MCP authorization), cached rows.
ALTER TYPE "OAuthClientOrigin" ADD VALUE 'metadata_document';
ALTER TABLE "oauth_clients" ADD COLUMN "metadata_expires_at" TIMESTAMPTZ(3);
