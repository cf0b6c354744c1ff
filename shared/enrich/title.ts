/**
 * Incident titles: one short line saying what happened to which certificate, where and by whom
 * ("Self-signed code-signing certificate 'CN=Contoso Dev' created on WS-042 by alice"). Chains say
 * "created and used". Pure.
 */
import type { CertAction, Finding } from '../model/finding';
import { chainRole, trustStoreOf } from '../incidents/chains';
import { baseName } from '../incidents/identity';

const MAX_LABEL = 80;
const MAX_TITLE = 200;

export interface TitleInput {
  findings: readonly Finding[];
  chain: boolean;
  signer: { subject: string | null; thumbprint: string | null; file: string | null };
  deviceName: string;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Which action names the incident when it is not a chain; the most consequential first. */
const ACTION_PRIORITY: readonly CertAction[] = ['create-cert', 'export-pfx', 'import-store', 'sign', 'convert-key', 'verify', 'other'];

function accountsPhrase(findings: readonly Finding[]): string {
  const names = [...new Set(findings.map((f) => f.account.name).filter((n): n is string => !!n && n.trim() !== ''))];
  const first = names[0];
  if (!first) return '';
  const others = names.length - 1;
  return others === 0 ? ` by ${first}` : ` by ${first} and ${others} other${others === 1 ? '' : 's'}`;
}

function storeName(store: string | null): string | null {
  if (!store) return null;
  const trusted = trustStoreOf(store);
  if (trusted) return { root: 'Root', authroot: 'AuthRoot', trustedpublisher: 'TrustedPublisher' }[trusted];
  return baseName(store) || store;
}

function firstSignedFile(findings: readonly Finding[]): string | null {
  const file = findings.find((f) => f.action === 'sign' && f.signedFile)?.signedFile;
  return file ? baseName(file) : null;
}

export function incidentTitle(input: TitleInput): string {
  const { findings, signer } = input;
  const label = signer.subject ?? signer.thumbprint ?? (signer.file ? baseName(signer.file) : null);
  const quoted = label ? ` '${truncate(label, MAX_LABEL)}'` : '';
  const noun = findings.some((f) => f.certificate.codeSigningEku) ? 'code-signing certificate' : 'certificate';
  const tail = ` on ${input.deviceName}${accountsPhrase(findings)}`;

  let head: string;
  if (input.chain) {
    const uses = findings.filter((f) => chainRole(f) === 'use');
    const details: string[] = [];
    const signed = firstSignedFile(uses);
    if (uses.some((f) => f.action === 'sign')) details.push(signed ? `to sign ${signed}` : 'to sign code');
    const stores = [...new Set(uses.filter((f) => f.action === 'import-store').map((f) => storeName(f.certificate.store)))];
    const store = stores.find((s): s is string => s !== null);
    if (store) details.push(`trusted via the ${store} store`);
    head = `Self-signed ${noun}${quoted} created and used${details.length > 0 ? ` ${details.join(' and ')}` : ''}`;
  } else {
    const present = new Set<CertAction>();
    for (const f of findings) present.add(f.action);
    const action = ACTION_PRIORITY.find((a) => present.has(a)) ?? 'other';
    const example = findings.find((f) => f.action === action);
    switch (action) {
      case 'create-cert':
        head = `Self-signed ${noun}${quoted} created`;
        break;
      case 'export-pfx':
        head = `Certificate${quoted} exported with its private key (PFX)`;
        break;
      case 'import-store': {
        const store = storeName(example?.certificate.store ?? null);
        head = `Certificate${quoted} imported${store ? ` into the ${store} store` : ''}`;
        break;
      }
      case 'sign': {
        const signed = firstSignedFile(findings);
        head = `${signed ?? 'Code'} signed${label ? ` with certificate '${truncate(label, MAX_LABEL)}'` : ''}`;
        break;
      }
      case 'convert-key':
        head = `Certificate key${quoted} converted to PFX`;
        break;
      default:
        head = `Certificate tooling (${example?.tool ?? 'other'})${quoted} used`;
    }
  }
  return truncate(head + tail, MAX_TITLE);
}
