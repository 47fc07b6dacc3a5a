/// The XML Schema of incident reports. `Schemas/incident-report.xsd` is this text (a test keeps them equal), and
/// `skm analyze --validate` checks each XML report against it as it is written.
public enum IncidentReportSchema {
    public static let xsd = #"""
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- An SKM incident report: what skm analyze found in captured requests. Times are RFC 3339 (UTC). -->
        <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">

          <xs:simpleType name="verdict">
            <xs:restriction base="xs:string">
              <xs:enumeration value="confirmed"/>
              <xs:enumeration value="mismatch"/>
              <xs:enumeration value="unexplained"/>
            </xs:restriction>
          </xs:simpleType>

          <xs:simpleType name="checkStatus">
            <xs:restriction base="xs:string">
              <xs:enumeration value="passed"/>
              <xs:enumeration value="failed"/>
              <xs:enumeration value="unknown"/>
              <xs:enumeration value="skipped"/>
              <xs:enumeration value="error"/>
              <xs:enumeration value="not-reached"/>
            </xs:restriction>
          </xs:simpleType>

          <xs:simpleType name="severity">
            <xs:restriction base="xs:string">
              <xs:enumeration value="error"/>
              <xs:enumeration value="warning"/>
            </xs:restriction>
          </xs:simpleType>

          <xs:simpleType name="count">
            <xs:restriction base="xs:nonNegativeInteger"/>
          </xs:simpleType>

          <xs:attributeGroup name="error">
            <xs:attribute name="code" type="xs:integer" use="required"/>
            <xs:attribute name="message" type="xs:string" use="required"/>
            <xs:attribute name="identifier" type="xs:string" use="required"/>
          </xs:attributeGroup>

          <xs:complexType name="error">
            <xs:attributeGroup ref="error"/>
          </xs:complexType>

          <xs:complexType name="event">
            <xs:sequence>
              <xs:element name="summary" type="xs:string"/>
            </xs:sequence>
            <xs:attribute name="time" type="xs:dateTime"/>
            <xs:attribute name="actor" type="xs:string" use="required"/>
            <xs:attribute name="action" type="xs:string" use="required"/>
          </xs:complexType>

          <xs:complexType name="missing">
            <xs:attribute name="fact" type="xs:string" use="required"/>
            <xs:attribute name="settle" type="xs:string" use="required"/>
          </xs:complexType>

          <xs:complexType name="evidence">
            <xs:simpleContent>
              <xs:extension base="xs:string">
                <xs:attribute name="expression" type="xs:string" use="required"/>
              </xs:extension>
            </xs:simpleContent>
          </xs:complexType>

          <xs:complexType name="hint">
            <xs:sequence>
              <xs:element name="title" type="xs:string"/>
              <xs:element name="explanation" type="xs:string"/>
              <xs:element name="fix" type="xs:string" minOccurs="0"/>
              <xs:element name="evidence" type="evidence" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence>
            <xs:attribute name="id" type="xs:string" use="required"/>
          </xs:complexType>

          <xs:complexType name="simulation">
            <xs:sequence>
              <xs:element name="change" type="xs:string"/>
              <xs:element name="stillFailing" minOccurs="0" maxOccurs="unbounded">
                <xs:complexType>
                  <xs:simpleContent>
                    <xs:extension base="xs:string">
                      <xs:attributeGroup ref="error"/>
                      <xs:attribute name="count" type="xs:positiveInteger" use="required"/>
                    </xs:extension>
                  </xs:simpleContent>
                </xs:complexType>
              </xs:element>
              <xs:element name="summary" type="xs:string"/>
            </xs:sequence>
            <xs:attribute name="simulated" type="xs:positiveInteger" use="required"/>
            <xs:attribute name="passed" type="count" use="required"/>
            <xs:attribute name="undecided" type="count" use="required"/>
          </xs:complexType>

          <xs:complexType name="check">
            <xs:sequence>
              <xs:element name="title" type="xs:string"/>
              <xs:element name="failureTitle" type="xs:string"/>
              <xs:element name="assertion" type="xs:string"/>
              <xs:element name="evidence" type="evidence" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="missing" type="missing" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="failure" type="xs:string" minOccurs="0"/>
            </xs:sequence>
            <xs:attribute name="id" type="xs:string" use="required"/>
            <xs:attribute name="status" type="checkStatus" use="required"/>
            <xs:attribute name="severity" type="severity" use="required"/>
          </xs:complexType>

          <xs:complexType name="finding">
            <xs:sequence>
              <xs:element name="path" type="xs:string"/>
              <xs:element name="cause" type="xs:string" minOccurs="0"/>
              <xs:element name="explanation" type="xs:string" minOccurs="0"/>
              <xs:element name="fix" type="xs:string" minOccurs="0"/>
              <xs:element name="hint" type="hint" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="note" type="xs:string" minOccurs="0"/>
              <xs:element name="event" type="event" minOccurs="0"/>
              <xs:element name="simulation" type="xs:string" minOccurs="0"/>
              <xs:element name="predicted" type="xs:string" minOccurs="0"/>
              <xs:element name="checks">
                <xs:complexType>
                  <xs:sequence>
                    <xs:element name="check" type="check" minOccurs="0" maxOccurs="unbounded"/>
                  </xs:sequence>
                </xs:complexType>
              </xs:element>
              <xs:element name="missing" type="missing" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="escalation" type="xs:string" minOccurs="0"/>
            </xs:sequence>
            <xs:attribute name="requestId" type="xs:string" use="required"/>
            <xs:attribute name="time" type="xs:dateTime" use="required"/>
            <xs:attribute name="location" type="xs:string" use="required"/>
            <xs:attribute name="method" type="xs:string" use="required"/>
            <xs:attribute name="operation" type="xs:string"/>
            <xs:attribute name="client" type="xs:string" use="required"/>
            <xs:attribute name="verdict" type="verdict" use="required"/>
          </xs:complexType>

          <xs:complexType name="group">
            <xs:sequence>
              <xs:element name="error" type="error" minOccurs="0"/>
              <xs:element name="ruleTitle" type="xs:string" minOccurs="0"/>
              <xs:element name="guide" type="xs:string" minOccurs="0"/>
              <xs:element name="checkTitle" type="xs:string" minOccurs="0"/>
              <xs:element name="appkey" type="xs:string"/>
              <xs:element name="keyId" type="xs:string"/>
              <xs:element name="client" type="xs:string"/>
              <xs:element name="explanation" type="xs:string" minOccurs="0"/>
              <xs:element name="fix" type="xs:string" minOccurs="0"/>
              <xs:element name="hint" type="hint" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="note" type="xs:string" minOccurs="0"/>
              <xs:element name="missing" type="missing" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="simulation" type="simulation" minOccurs="0"/>
              <xs:element name="alternative" type="simulation" minOccurs="0" maxOccurs="unbounded"/>
              <xs:element name="event" type="event" minOccurs="0"/>
              <xs:element name="now" type="xs:string" minOccurs="0"/>
              <xs:element name="requestIds">
                <xs:complexType>
                  <xs:sequence>
                    <xs:element name="requestId" type="xs:string" maxOccurs="unbounded"/>
                  </xs:sequence>
                </xs:complexType>
              </xs:element>
              <xs:element name="examples">
                <xs:complexType>
                  <xs:sequence>
                    <xs:element name="finding" type="finding" maxOccurs="unbounded"/>
                  </xs:sequence>
                </xs:complexType>
              </xs:element>
            </xs:sequence>
            <xs:attribute name="id" type="xs:string" use="required"/>
            <xs:attribute name="rank" type="xs:positiveInteger" use="required"/>
            <xs:attribute name="count" type="xs:positiveInteger" use="required"/>
            <xs:attribute name="firstSeen" type="xs:dateTime" use="required"/>
            <xs:attribute name="lastSeen" type="xs:dateTime" use="required"/>
            <xs:attribute name="verdict" type="verdict" use="required"/>
            <xs:attribute name="resultCode" type="xs:integer" use="required"/>
            <xs:attribute name="rule" type="xs:string"/>
            <xs:attribute name="check" type="xs:string"/>
          </xs:complexType>

          <xs:element name="incidentReport">
            <xs:complexType>
              <xs:sequence>
                <xs:element name="tool">
                  <xs:complexType>
                    <xs:attribute name="name" type="xs:string" use="required"/>
                    <xs:attribute name="version" type="xs:string" use="required"/>
                  </xs:complexType>
                </xs:element>
                <xs:element name="ruleSet">
                  <xs:complexType>
                    <xs:attribute name="rules" type="count" use="required"/>
                    <xs:attribute name="checks" type="count" use="required"/>
                    <xs:attribute name="digest" type="xs:string" use="required"/>
                  </xs:complexType>
                </xs:element>
                <xs:element name="state">
                  <xs:complexType>
                    <xs:attribute name="source" type="xs:string" use="required"/>
                    <xs:attribute name="location" type="xs:string"/>
                    <xs:attribute name="generatedAt" type="xs:dateTime" use="required"/>
                    <xs:attribute name="events" type="count" use="required"/>
                  </xs:complexType>
                </xs:element>
                <xs:element name="filters">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="filter" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
                    </xs:sequence>
                  </xs:complexType>
                </xs:element>
                <xs:element name="summary">
                  <xs:complexType>
                    <xs:attribute name="requests" type="count" use="required"/>
                    <xs:attribute name="successes" type="count" use="required"/>
                    <xs:attribute name="failures" type="count" use="required"/>
                    <xs:attribute name="confirmed" type="count" use="required"/>
                    <xs:attribute name="mismatches" type="count" use="required"/>
                    <xs:attribute name="unexplained" type="count" use="required"/>
                    <xs:attribute name="groups" type="count" use="required"/>
                    <xs:attribute name="problems" type="count" use="required"/>
                    <xs:attribute name="filteredOut" type="count" use="required"/>
                    <xs:attribute name="firstTime" type="xs:dateTime"/>
                    <xs:attribute name="lastTime" type="xs:dateTime"/>
                  </xs:complexType>
                </xs:element>
                <xs:element name="errors">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="error" minOccurs="0" maxOccurs="unbounded">
                        <xs:complexType>
                          <xs:attributeGroup ref="error"/>
                          <xs:attribute name="count" type="xs:positiveInteger" use="required"/>
                        </xs:complexType>
                      </xs:element>
                    </xs:sequence>
                  </xs:complexType>
                </xs:element>
                <xs:element name="timeline" minOccurs="0">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="bucket" maxOccurs="unbounded">
                        <xs:complexType>
                          <xs:sequence>
                            <xs:element name="count" minOccurs="0" maxOccurs="unbounded">
                              <xs:complexType>
                                <xs:attribute name="code" type="xs:integer" use="required"/>
                                <xs:attribute name="failures" type="xs:positiveInteger" use="required"/>
                              </xs:complexType>
                            </xs:element>
                          </xs:sequence>
                          <xs:attribute name="index" type="count" use="required"/>
                        </xs:complexType>
                      </xs:element>
                    </xs:sequence>
                    <xs:attribute name="start" type="xs:dateTime" use="required"/>
                    <xs:attribute name="bucketSeconds" type="xs:positiveInteger" use="required"/>
                  </xs:complexType>
                </xs:element>
                <xs:element name="causes">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="cause" minOccurs="0" maxOccurs="unbounded">
                        <xs:complexType>
                          <xs:attribute name="rule" type="xs:string" use="required"/>
                          <xs:attribute name="check" type="xs:string" use="required"/>
                          <xs:attribute name="title" type="xs:string" use="required"/>
                          <xs:attribute name="code" type="xs:integer"/>
                          <xs:attribute name="message" type="xs:string"/>
                          <xs:attribute name="count" type="xs:positiveInteger" use="required"/>
                          <xs:attribute name="groups" type="xs:positiveInteger" use="required"/>
                          <xs:attribute name="clients" type="count" use="required"/>
                          <xs:attribute name="keys" type="count" use="required"/>
                        </xs:complexType>
                      </xs:element>
                    </xs:sequence>
                  </xs:complexType>
                </xs:element>
                <xs:element name="groups">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="group" type="group" minOccurs="0" maxOccurs="unbounded"/>
                    </xs:sequence>
                  </xs:complexType>
                </xs:element>
                <xs:element name="keys">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="key" minOccurs="0" maxOccurs="unbounded">
                        <xs:complexType>
                          <xs:attribute name="appkey" type="xs:string" use="required"/>
                          <xs:attribute name="keyId" type="xs:string" use="required"/>
                          <xs:attribute name="successes" type="count" use="required"/>
                          <xs:attribute name="failures" type="count" use="required"/>
                        </xs:complexType>
                      </xs:element>
                    </xs:sequence>
                  </xs:complexType>
                </xs:element>
                <xs:element name="inputs">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="input" minOccurs="0" maxOccurs="unbounded">
                        <xs:complexType>
                          <xs:attribute name="path" type="xs:string" use="required"/>
                          <xs:attribute name="format" type="xs:string" use="required"/>
                          <xs:attribute name="items" type="count" use="required"/>
                          <xs:attribute name="problems" type="count" use="required"/>
                        </xs:complexType>
                      </xs:element>
                    </xs:sequence>
                  </xs:complexType>
                </xs:element>
                <xs:element name="problems">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="problem" minOccurs="0" maxOccurs="unbounded">
                        <xs:complexType>
                          <xs:simpleContent>
                            <xs:extension base="xs:string">
                              <xs:attribute name="location" type="xs:string" use="required"/>
                            </xs:extension>
                          </xs:simpleContent>
                        </xs:complexType>
                      </xs:element>
                    </xs:sequence>
                  </xs:complexType>
                </xs:element>
                <xs:element name="sanitization">
                  <xs:complexType>
                    <xs:attribute name="replacedCharacters" type="count" use="required"/>
                  </xs:complexType>
                </xs:element>
              </xs:sequence>
              <xs:attribute name="schemaVersion" type="xs:positiveInteger" use="required"/>
              <xs:attribute name="generatedAt" type="xs:dateTime" use="required"/>
              <xs:attribute name="redacted" type="xs:boolean" use="required"/>
            </xs:complexType>
          </xs:element>
        </xs:schema>

        """#
}
