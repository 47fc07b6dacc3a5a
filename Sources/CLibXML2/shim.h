#ifndef SKM_CLIBXML2_SHIM_H
#define SKM_CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian's libxml2 is built with ICU, and <libxml/encoding.h> would then include the system <unicode/ucnv.h>,
   whose types clash with Foundation's own ICU. The report writer needs no ICU conversion. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#endif
