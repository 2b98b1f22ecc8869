'use client';

import { signIn } from 'next-auth/react';
import { useState } from 'react';
import { safeCallbackPath } from '@/lib/auth/callback-url';

export interface SsoOption {
  id: string;
  name: string;
}

/** One button per configured identity provider; next-auth takes the browser there and back. */
export function SsoButtons({ providers, callbackUrl }: { providers: SsoOption[]; callbackUrl: string }) {
  const [pending, setPending] = useState<string | null>(null);
  return (
    <div className="space-y-3">
      {providers.map((provider) => (
        <button
          key={provider.id}
          type="button"
          disabled={pending !== null}
          onClick={() => {
            setPending(provider.id);
            void signIn(provider.id, { callbackUrl: safeCallbackPath(callbackUrl) });
          }}
          className="flex w-full justify-center rounded-md border border-slate-300 bg-white px-4 py-2.5 text-sm font-semibold text-slate-800 shadow-sm transition-colors hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-60"
        >
          {pending === provider.id ? `Redirecting to ${provider.name}…` : `Sign in with ${provider.name}`}
        </button>
      ))}
    </div>
  );
}
