import { looksLikeExecutable, programNamed, resolveLaunch } from '../../../shared/cmdline/programs';

describe('programNamed', () => {
  it.each([
    ['C:\\Program Files (x86)\\Windows Kits\\10\\bin\\x86\\Pvk2Pfx.exe', 'pvk2pfx'],
    ['SignTool', 'signtool'],
    ['CERTUTIL.EXE', 'certutil'],
    ['/usr/bin/openssl', 'openssl'],
    ['pwsh.dll', 'powershell'],
    ['powershell_ise.exe', 'powershell'],
    ['C:\\Windows\\System32\\cmd.exe', 'cmd'],
    ['/bin/bash', 'sh'],
  ])('%s is %s', (name, program) => {
    expect(programNamed(name)).toBe(program);
  });

  it('is null for anything else', () => {
    expect(programNamed('notepad.exe')).toBeNull();
    expect(programNamed('')).toBeNull();
    expect(programNamed(null)).toBeNull();
    expect(programNamed(undefined)).toBeNull();
  });
});

describe('resolveLaunch', () => {
  it('prefers the original file name when the line starts with the image', () => {
    expect(resolveLaunch('C:\\t\\x.exe', { fileName: 'x.exe', originalFileName: 'makecert.exe' })).toEqual({ program: 'makecert', argsFrom: 1 });
    expect(resolveLaunch('signtool.exe', { fileName: 'signtool.exe', originalFileName: 'MakeCert.exe' })).toEqual({ program: 'makecert', argsFrom: 1 });
  });

  it('uses the name on the line when there is no hint or it does not match', () => {
    expect(resolveLaunch('certutil', null)).toEqual({ program: 'certutil', argsFrom: 1 });
    expect(resolveLaunch('certutil', { fileName: 'powershell.exe' })).toEqual({ program: 'certutil', argsFrom: 1 });
  });

  it('reads a line without its executable from the hint', () => {
    expect(resolveLaunch('-addstore', { fileName: 'certutil.exe' })).toEqual({ program: 'certutil', argsFrom: 0 });
    expect(resolveLaunch('renamed.exe', { originalFileName: 'signtool.exe' })).toEqual({ program: 'signtool', argsFrom: 1 });
  });

  it('knows nothing of other programs', () => {
    expect(resolveLaunch('notepad.exe', null)).toEqual({ program: null, argsFrom: 1 });
  });

  it('tells executables from arguments', () => {
    expect(looksLikeExecutable('x.exe')).toBe(true);
    expect(looksLikeExecutable('C:\\tools\\x')).toBe(true);
    expect(looksLikeExecutable('sign')).toBe(false);
    expect(looksLikeExecutable('/f')).toBe(false);
    expect(looksLikeExecutable('a.pfx')).toBe(false);
  });
});
