import { CheckboxField, SelectField, TextAreaField, TextField } from '@/components/admin/fields';
import { ScopeFields } from './ScopeFields';

// The "Register a server" form's fields (no hooks: rendered by the page inside an ActionForm).

export function RegisterServerFields({ roles, departments }: { roles: string[]; departments: { id: string; name: string; slug: string }[] }) {
  return (
    <div className="space-y-5">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        <TextField label="Name" name="name" required placeholder="github" hint="Lowercase letters, digits and -; the proxy path /mcp/servers/NAME" />
        <SelectField
          label="Transport"
          name="transport"
          defaultValue="streamable_http"
          options={[
            { value: 'streamable_http', label: 'Streamable HTTP (remote)' },
            { value: 'sse', label: 'SSE (remote)' },
            { value: 'stdio', label: 'stdio (runs on devices)' },
          ]}
        />
        <TextField label="Description" name="description" placeholder="Issues and pull requests" />
      </div>
      <fieldset className="space-y-4 rounded-md border border-slate-200 p-4">
        <legend className="px-1 text-sm font-medium text-slate-700">Remote server</legend>
        <TextField label="URL" name="url" placeholder="https://mcp.example.com/mcp" hint="Checked now (initialize + tools/list); private and loopback addresses are refused unless allowed below" />
        <div className="grid gap-4 sm:grid-cols-2">
          <label className="block space-y-1.5">
            <span className="block text-sm font-medium text-slate-700">Upstream secret</span>
            <input aria-label="Upstream secret" name="secret" type="password" autoComplete="new-password" className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm" />
            <span className="block text-xs text-slate-500">Optional. Sealed; the proxy sends it, clients and the model never see it</span>
          </label>
          <TextField label="Secret header" name="secretHeader" placeholder="Authorization" hint="Authorization sends “Bearer SECRET”" />
        </div>
        <div className="space-y-3 rounded-md bg-slate-50 p-3">
          <CheckboxField
            label="Each person signs in at the server’s provider (OAuth on their behalf)"
            name="oauthUser"
            hint="Instead of a secret: people connect their own account on MCP connections and the proxy calls as them. Gatehouse registers itself at the provider unless you give a client id"
          />
          <div className="grid gap-4 sm:grid-cols-3">
            <TextField label="OAuth client id" name="oauthClientId" placeholder="Registered automatically when empty" hint="Redirect URI to register: GATEHOUSE_PUBLIC_URL/mcp/oauth/callback" />
            <label className="block space-y-1.5">
              <span className="block text-sm font-medium text-slate-700">OAuth client secret</span>
              <input aria-label="OAuth client secret" name="oauthClientSecret" type="password" autoComplete="new-password" className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm" />
              <span className="block text-xs text-slate-500">Optional, with a client id. Sealed</span>
            </label>
            <TextField label="OAuth scope" name="oauthScope" placeholder="repo read:org" hint="Space-separated; the provider’s default when empty" />
          </div>
        </div>
        <CheckboxField label="Allow a private or loopback address" name="allowPrivateNetwork" hint="Only for servers inside your network; cloud metadata addresses are always refused" />
      </fieldset>
      <fieldset className="space-y-4 rounded-md border border-slate-200 p-4">
        <legend className="px-1 text-sm font-medium text-slate-700">Device-run (stdio) server</legend>
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField label="Command" name="command" placeholder="npx" />
          <TextAreaField label="Arguments (one per line)" name="args" rows={2} placeholder="-y&#10;@acme/mcp-server" />
          <TextAreaField label="Environment (NAME=value per line, not secret)" name="env" rows={2} />
          <TextAreaField label="Tools (JSON)" name="tools" monospace rows={2} placeholder='[{"name": "search", "inputSchema": {"type": "object"}}]' hint="What the server provides; devices are never checked from here" />
        </div>
      </fieldset>
      <ScopeFields roles={roles} departments={departments} legend="Scope: who may use it (nobody until you choose)" />
    </div>
  );
}
