import Link from 'next/link';

/** Shown instead of a page the signed-in user's roles do not cover. */
export function AccessDenied({ permission, tenantWide = true }: { permission: string; tenantWide?: boolean }) {
  return (
    <div role="alert" className="rounded-lg border border-amber-200 bg-amber-50 p-6">
      <h2 className="text-base font-semibold text-amber-900">You don’t have access to this page</h2>
      <p className="mt-1 text-sm text-amber-800">
        It needs the <code className="rounded bg-amber-100 px-1 font-mono">{permission}</code> permission
        {tenantWide ? ', granted tenant-wide' : ''}. Ask an administrator to give you a role that includes it.
      </p>
      <Link href="/" className="mt-4 inline-block text-sm font-medium text-amber-900 underline underline-offset-2">
        Back to the overview
      </Link>
    </div>
  );
}
