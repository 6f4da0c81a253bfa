/**
 * The browser tab's title for the view on screen: "<view> – Plansync". A screen reader says the title when a tab
 * or window gets the focus, and people with several tabs tell them apart by it; with "Plansync" on every page,
 * neither could (found in a QA pass by keyboard and screen reader).
 */
import { useEffect } from 'react';

export const PRODUCT_NAME = 'Plansync';

export function pageTitle(view: string | null): string {
  return view ? `${view} – ${PRODUCT_NAME}` : PRODUCT_NAME;
}

/** Sets the tab's title while the calling component shows `view`. */
export function usePageTitle(view: string | null): void {
  useEffect(() => {
    document.title = pageTitle(view);
  }, [view]);
}
