// QR codes for links (the qrcode library), as an <img> with the link as its text alternative.
import QRCode from 'qrcode';
import { h } from './dom';

export function qrImage(text: string, label: string, size = 160): HTMLImageElement {
  const img = h('img', { class: 'qr', width: size, height: size, alt: label });
  QRCode.toDataURL(text, { width: size, margin: 1, errorCorrectionLevel: 'M' })
    .then((url) => (img.src = url))
    .catch(() => img.remove());
  return img;
}

/** Puts text on the clipboard; without the Clipboard API (a page not served over HTTPS or from
 * localhost), through a hidden text field and the copy command. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h('textarea', { readonly: true, class: 'sr-only', 'aria-hidden': 'true' }, text);
    document.body.appendChild(area);
    area.select();
    document.execCommand?.('copy');
    area.remove();
  }
}

/** A button that copies text() and says so for a moment. */
export function copyButton(text: () => string, copyLabel: string, copiedLabel: string, attrs: Record<string, unknown> = {}): HTMLButtonElement {
  const button = h(
    'button',
    {
      type: 'button',
      class: 'small',
      ...attrs,
      onclick: async () => {
        await copyText(text());
        button.textContent = copiedLabel;
        setTimeout(() => (button.textContent = copyLabel), 1500);
      },
    },
    copyLabel,
  );
  return button;
}

/** A link with a copy button and its QR code. */
export function linkBox(url: string, label: string, copyLabel: string, copiedLabel: string): HTMLElement {
  const input = h('input', { type: 'text', readonly: true, value: url, 'aria-label': label, class: 'link-input' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'small',
      onclick: async () => {
        input.select();
        try {
          await navigator.clipboard.writeText(url);
        } catch {
          document.execCommand?.('copy');
        }
        button.textContent = copiedLabel;
        setTimeout(() => (button.textContent = copyLabel), 1500);
      },
    },
    copyLabel,
  );
  return h('div', { class: 'link-box' }, h('div', { class: 'link-line' }, input, button), qrImage(url, `${label}: QR`));
}
