import type { ReactNode } from 'react';
import { navigationFor } from '@/components/nav/navigation';
import { TopNav } from '@/components/nav/TopNav';
import { getDashboardUser } from '@/lib/auth/session';

// Every page in this group calls requireDashboardUser() itself, because only the page knows its
// own path for the callbackUrl; the layout only needs the user for the navigation.
export default async function DashboardLayout({ children }: { children: ReactNode }) {
  const user = await getDashboardUser();
  const items = user ? await navigationFor(user) : [];
  return (
    <>
      <TopNav user={user} items={items} />
      <main className="mx-auto max-w-7xl px-4 py-8 sm:px-6 lg:px-8">{children}</main>
    </>
  );
}
