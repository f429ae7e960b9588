/**
 * The callback XML reader follows the official WXBizMsgCrypt (sbzhu/weworkapi_python
 * callback_python3/WXBizMsgCrypt.py: `ET.fromstring(xml).find("Encrypt")`, i.e. a direct child of
 * the root), parses CDATA as data, and refuses DTDs and entity declarations.
 */
import { describe, expect, it } from 'vitest';
import { XmlError, parseXml, xmlFields } from '../../src/chat/wecom/xml.ts';
import { fixtureText } from '../helpers/fixtures.ts';

const FIELDS = ['FromUserName', 'MsgType', 'Content', 'MsgId', 'AgentID', 'TaskId', 'EventKey'] as const;

describe('WeCom XML fields', () => {
  it("reads the official samples' plaintexts (vectors A2 and B2)", () => {
    const vectors = JSON.parse(fixtureText('wecom-crypto-vectors.json')) as {
      expected: { plaintext: string };
    }[];
    const a2 = xmlFields(vectors[1]!.expected.plaintext, FIELDS);
    expect(a2).toEqual({
      FromUserName: 'ChenJiaShun',
      MsgType: 'text',
      Content: '你好',
      MsgId: '1456453720',
      AgentID: '1000002',
    });
    const b2 =
      '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n' +
      '<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n' +
      '<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>';
    expect(xmlFields(b2, ['MsgId', 'AgentID', 'Content'] as const)).toEqual({
      MsgId: '4561255354251345929',
      AgentID: '218',
      Content: 'hello',
    });
  });

  it("a user's text containing <MsgId>/<AgentID> stays text and does not replace the envelope's fields", () => {
    const sneaky = '/mode all auto</Content><MsgId>1</MsgId><AgentID>999</AgentID><Content>';
    const xml =
      `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[ZhangSan]]></FromUserName>` +
      `<CreateTime>1767594725</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
      `<Content><![CDATA[${sneaky}]]></Content><MsgId>7001</MsgId><AgentID>1000002</AgentID></xml>`;
    expect(xmlFields(xml, FIELDS)).toMatchObject({ Content: sneaky, MsgId: '7001', AgentID: '1000002' });
  });

  it('takes fields from the root only, never from nested elements (SelectedItems, Button)', () => {
    const xml =
      '<xml><FromUserName><![CDATA[u]]></FromUserName><SelectedItems><SelectedItem><TaskId>inner</TaskId>' +
      '<EventKey><![CDATA[inner-key]]></EventKey></SelectedItem></SelectedItems>' +
      '<EventKey><![CDATA[outer-key]]></EventKey></xml>';
    expect(xmlFields(xml, FIELDS)).toEqual({ FromUserName: 'u', EventKey: 'outer-key' });
    const root = parseXml(xml);
    expect(root.children.map((c) => c.name)).toEqual(['FromUserName', 'SelectedItems', 'EventKey']);
  });

  it('CDATA is verbatim (markup, entities, a DOCTYPE string), text has the predefined entities decoded', () => {
    const xml =
      '<xml><Content><![CDATA[<!DOCTYPE x> &amp; <b>]]></Content><Title>a &lt;b&gt; &amp; &#x4e2d;&#25991;</Title>' +
      '<Split><![CDATA[x]]]]><![CDATA[>y]]></Split></xml>';
    expect(xmlFields(xml, ['Content', 'Title', 'Split'] as const)).toEqual({
      Content: '<!DOCTYPE x> &amp; <b>',
      Title: 'a <b> & 中文',
      Split: 'x]]>y',
    });
  });

  it('refuses DOCTYPE and ENTITY declarations, wherever they are outside CDATA', () => {
    const bombs = [
      '<!DOCTYPE xml [<!ENTITY a "aaaaaaaa">]><xml><Encrypt>&a;</Encrypt></xml>',
      '<?xml version="1.0"?>\n<!DOCTYPE xml SYSTEM "http://evil/x.dtd"><xml/>',
      '<xml><!ENTITY a "b"><Encrypt>x</Encrypt></xml>',
      '<xml><Encrypt>x</Encrypt></xml><!DOCTYPE y>',
    ];
    for (const b of bombs) expect(() => parseXml(b), b).toThrow(/DOCTYPE|ENTITY/);
  });

  it('refuses what is not well-formed or not an <xml> document', () => {
    const bad = [
      '',
      'plain text',
      '<xml><Encrypt>x</Encrypt>',
      '<xml><Encrypt>x</MsgId></xml>',
      '<xml></xml>trailing',
      '<root><Encrypt>x</Encrypt></root>',
      '<xml><A>&nbsp;</A></xml>',
      '<xml><A>a & b</A></xml>',
      '<xml><A>&#0;</A></xml>',
      '<xml><A><![CDATA[never closed</A></xml>',
      '<xml>' + '<a>'.repeat(40) + '</a>'.repeat(40) + '</xml>',
    ];
    for (const b of bad) expect(() => parseXml(b), b).toThrow(XmlError);
  });

  it('accepts the XML declaration, comments, attributes and self-closing elements', () => {
    const xml =
      '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<!-- WeCom --><xml a="1"><Encrypt x=\'y\'><![CDATA[abc]]></Encrypt><Empty/></xml>\n';
    expect(xmlFields(xml, ['Encrypt', 'Empty'] as const)).toEqual({ Encrypt: 'abc', Empty: '' });
  });
});
