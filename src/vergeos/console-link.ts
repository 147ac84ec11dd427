/** Where a VM's console opens in the VergeOS UI, as pyVergeOS builds the link: `{VERGEOS_URL}/#/vm-console/{vmKey}`. */
export function consoleUrl(vergeosUrl: string, vmKey: string): string {
  return `${vergeosUrl.replace(/\/+$/, '')}/#/vm-console/${encodeURIComponent(vmKey)}`;
}
