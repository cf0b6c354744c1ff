import { analyseOpenssl } from '../../../shared/cmdline/openssl';
import { splitArgv } from '../../../shared/cmdline/tokenize';

const openssl = (line: string): ReturnType<typeof analyseOpenssl> => analyseOpenssl(splitArgv(line));

describe('analyseOpenssl', () => {
  it('reads -subj and -addext extendedKeyUsage=codeSigning on a self-signed req', () => {
    expect(openssl('req -x509 -newkey rsa:4096 -sha256 -days 30 -nodes -keyout sign.key -out sign.crt -subj "/CN=Evil Corp/O=Evil" -addext "extendedKeyUsage=codeSigning"')).toEqual({
      tool: 'openssl',
      action: 'create-cert',
      subject: '/CN=Evil Corp/O=Evil',
      thumbprint: null,
      store: null,
      files: ['sign.key', 'sign.crt'],
      signedFiles: [],
      codeSigningEku: true,
    });
  });

  it('sees code signing named by -extensions, -reqexts or -extfile, or by OID', () => {
    expect(openssl('x509 -req -in r.csr -signkey k.pem -out c.crt -extensions v3_codesign').codeSigningEku).toBe(true);
    expect(openssl('req -new -x509 -key k.pem -out c.crt -reqexts code_sign').codeSigningEku).toBe(true);
    expect(openssl('x509 -req -in r.csr -CA ca.pem -CAkey ca.key -out c.crt -extfile codesigning.cnf').codeSigningEku).toBe(true);
    expect(openssl('req -x509 -key k.pem -out c.crt -addext extendedKeyUsage=1.3.6.1.5.5.7.3.3').codeSigningEku).toBe(true);
    expect(openssl('req -x509 -key k.pem -out c.crt -addext extendedKeyUsage=serverAuth -extfile cert.ext').codeSigningEku).toBe(false);
  });

  it('labels key generation as create-cert', () => {
    expect(openssl('genrsa -out k.pem 2048')).toMatchObject({ action: 'create-cert', files: ['k.pem'] });
    expect(openssl('genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.key')).toMatchObject({ action: 'create-cert', files: ['k.key'] });
    expect(openssl('ecparam -name prime256v1 -genkey -out k.pem')).toMatchObject({ action: 'create-cert', files: ['k.pem'] });
    expect(openssl('ecparam -list_curves').action).toBe('other');
  });

  it('keeps signing requests out of the certificate files', () => {
    expect(openssl('x509 -req -in localhost.csr -CA rootCA.pem -CAkey rootCA.key -CAcreateserial -out localhost.crt -days 500').files).toEqual(['rootCA.pem', 'rootCA.key', 'localhost.crt']);
    expect(openssl('req -new -key k.pem -out request.pem')).toMatchObject({ action: 'create-cert', files: ['k.pem'] });
    expect(openssl('req -in r.csr -noout -text')).toMatchObject({ action: 'other', files: [] });
  });

  it('labels writing a PKCS#12 as export-pfx and reading one as other', () => {
    expect(openssl('pkcs12 -export -out code.pfx -inkey code.key -in code.crt -certfile ca.crt')).toMatchObject({ action: 'export-pfx', files: ['code.pfx', 'code.key', 'code.crt', 'ca.crt'] });
    expect(openssl('pkcs12 -in file.p12 -info -noout')).toMatchObject({ action: 'other', files: ['file.p12'] });
  });

  it('labels key conversion, data signing and other subcommands', () => {
    expect(openssl('rsa -in k.pem -outform PVK -pvk-strong -out k.pvk')).toMatchObject({ action: 'convert-key', files: ['k.pem', 'k.pvk'] });
    expect(openssl('cms -sign -binary -in payload.bin -signer c.pem -inkey k.pem -out payload.p7s')).toMatchObject({ action: 'sign', files: ['c.pem', 'k.pem'], signedFiles: ['payload.bin'] });
    expect(openssl('dgst -sha256 -sign k.pem -out sig.bin payload.exe')).toMatchObject({ action: 'sign', files: ['k.pem'], signedFiles: ['payload.exe'] });
    expect(openssl('dgst -sha256 -verify pub.pem -signature sig.bin payload.exe')).toMatchObject({ action: 'verify', files: ['pub.pem'] });
    expect(openssl('s_client -connect host:443')).toMatchObject({ action: 'other', files: [] });
    expect(openssl('enc -aes256 -in secret.key -out secret.enc')).toMatchObject({ action: 'other', files: [] });
    expect(openssl('-help')).toMatchObject({ action: 'other' });
  });
});
