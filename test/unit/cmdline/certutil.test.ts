import { analyseCertutil } from '../../../shared/cmdline/certutil';
import { splitArgv } from '../../../shared/cmdline/tokenize';

describe('analyseCertutil', () => {
  const certutil = (line: string): ReturnType<typeof analyseCertutil> => analyseCertutil(splitArgv(line));

  it('reads -addstore and -importPFX', () => {
    expect(certutil('-user -f -addstore Root evil.cer')).toMatchObject({ action: 'import-store', store: 'Root', files: ['evil.cer'] });
    expect(certutil('-f -p pw -importpfx evil.pfx')).toMatchObject({ action: 'import-store', store: null, files: ['evil.pfx'] });
    expect(certutil('-p pw -importPFX My evil.pfx NoExport')).toMatchObject({ store: 'My', files: ['evil.pfx'] });
    expect(certutil('-importpfx evil.pfx AT_SIGNATURE,NoRoot')).toMatchObject({ store: null, files: ['evil.pfx'] });
  });

  it('reads -exportPFX with and without a store', () => {
    expect(certutil('-p pw -exportPFX Root 1F3D38F280635F275BE92B87CF83E40E40458400 out.pfx')).toMatchObject({ action: 'export-pfx', store: 'Root', files: ['out.pfx'] });
    expect(certutil('-exportPFX 1F3D38F280635F275BE92B87CF83E40E40458400 out.pfx')).toMatchObject({ store: null, files: ['out.pfx'] });
  });

  it('accepts slash switches in any case', () => {
    expect(certutil('/ADDSTORE TrustedPublisher a.cer')).toMatchObject({ action: 'import-store', store: 'TrustedPublisher' });
  });

  it('treats store inspection and deletion as other, and download or encoding verbs as other with no files', () => {
    expect(certutil('-delstore Root 1F3D38F280635F275BE92B87CF83E40E40458400')).toMatchObject({ action: 'other', store: 'Root' });
    expect(certutil('-verify evil.cer')).toMatchObject({ action: 'verify', files: ['evil.cer'] });
    expect(certutil('-dump evil.pfx')).toMatchObject({ action: 'other', files: ['evil.pfx'] });
    expect(certutil('-urlcache -split -f http://x/a.crt a.crt')).toMatchObject({ action: 'other', files: [] });
    expect(certutil('-encode in.bin out.b64')).toMatchObject({ action: 'other', files: [] });
  });
});
