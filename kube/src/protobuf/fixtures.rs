    /// (command, body kubectl v1.33.1 sent, the JSON `<command> --dry-run=client -o json` prints).
    #[rustfmt::skip]
    const KUBECTL_FIXTURES: &[(&str, &str, &str)] = &[
        (
            "kubectl create namespace x",
            "6b3873000a0f0a02763112094e616d65737061636512190a110a017812001a0022002a003200380042001200\
             1a020a001a002200",
            r#"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x","creationTimestamp":null},"spec":{},"status":{}}"#,
        ),
        (
            "kubectl create namespace y --save-config",
            "6b3873000a0f0a02763112094e616d65737061636512bf010ab6010a017912001a0022002a00320038004200\
             62a2010a306b75626563746c2e6b756265726e657465732e696f2f6c6173742d6170706c6965642d636f6e66\
             696775726174696f6e126e7b226b696e64223a224e616d657370616365222c2261706956657273696f6e223a\
             227631222c226d65746164617461223a7b226e616d65223a2279222c226372656174696f6e54696d65737461\
             6d70223a6e756c6c7d2c2273706563223a7b7d2c22737461747573223a7b7d7d0a12001a020a001a002200",
            r#"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"y","creationTimestamp":null,"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"y\",\"creationTimestamp\":null},\"spec\":{},\"status\":{}}\n"}},"spec":{},"status":{}}"#,
        ),
        (
            "kubectl create configmap c --from-literal=a=b --from-literal=c=d",
            "6b3873000a0f0a0276311209436f6e6669674d617012230a110a016312001a0022002a003200380042001206\
             0a016112016212060a01631201641a002200",
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","creationTimestamp":null},"data":{"a":"b","c":"d"}}"#,
        ),
        (
            "kubectl create configmap cf --from-file=files/greeting.txt --from-file=bin=files/blob.bin",
            "6b3873000a0f0a0276311209436f6e6669674d617012400a120a02636612001a0022002a0032003800420012\
             1c0a0c6772656574696e672e747874120c68656c6c6f0a776f726c640a1a0c0a0362696e1205000102fffe1a\
             002200",
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cf","creationTimestamp":null},"data":{"greeting.txt":"hello\nworld\n"},"binaryData":{"bin":"AAEC//4="}}"#,
        ),
        (
            "kubectl create configmap ce --from-env-file=files/env.txt",
            "6b3873000a0f0a0276311209436f6e6669674d617012290a120a02636512001a0022002a0032003800420012\
             080a024b311202763112090a024b3212037620321a002200",
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"ce","creationTimestamp":null},"data":{"K1":"v1","K2":"v 2"}}"#,
        ),
        (
            "kubectl create configmap ch --from-literal=a=b --append-hash",
            "6b3873000a0f0a0276311209436f6e6669674d617012270a1d0a0d63682d3474366637353832363612001a00\
             22002a0032003800420012060a01611201621a002200",
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"ch-4t6f758266","creationTimestamp":null},"data":{"a":"b"}}"#,
        ),
        (
            "kubectl create secret generic s --from-literal=k=v --from-file=files/blob.bin --type=Opaque",
            "6b3873000a0c0a027631120653656372657412360a110a017312001a0022002a0032003800420012110a0862\
             6c6f622e62696e1205000102fffe12060a016b1201761a064f70617175651a002200",
            r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","creationTimestamp":null},"data":{"blob.bin":"AAEC//4=","k":"dg=="},"type":"Opaque"}"#,
        ),
        (
            "kubectl create secret docker-registry reg --docker-server=r.example.com --docker-username=u --docker-password=p --docker-email=e@example.com",
            "6b3873000a0c0a027631120653656372657412ad010a130a0372656712001a0022002a003200380042001276\
             0a112e646f636b6572636f6e6669676a736f6e12617b226175746873223a7b22722e6578616d706c652e636f\
             6d223a7b22757365726e616d65223a2275222c2270617373776f7264223a2270222c22656d61696c223a2265\
             406578616d706c652e636f6d222c2261757468223a2264547077227d7d7d1a1e6b756265726e657465732e69\
             6f2f646f636b6572636f6e6669676a736f6e1a002200",
            r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"reg","creationTimestamp":null},"data":{".dockerconfigjson":"eyJhdXRocyI6eyJyLmV4YW1wbGUuY29tIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImVtYWlsIjoiZUBleGFtcGxlLmNvbSIsImF1dGgiOiJkVHB3In19fQ=="},"type":"kubernetes.io/dockerconfigjson"}"#,
        ),
        (
            "kubectl create secret tls tls --cert=files/tls.crt --key=files/tls.key",
            "6b3873000a0c0a027631120653656372657412e5060a130a03746c7312001a0022002a0032003800420012ba\
             040a07746c732e63727412ae042d2d2d2d2d424547494e2043455254494649434154452d2d2d2d2d0a4d4949\
             426344434341525767417749424167495551547852435373437a457157482f5737695257635a795743553730\
             77436759494b6f5a497a6a3045417749770a4454454c4d416b4741315545417777435a5867774868634e4d6a\
             59784d54497a4d5467794d6a55785768634e4d7a59784d5449774d5467794d6a5578576a414e0a4d51737743\
             5159445651514444414a6c6544425a4d424d4742797147534d34394167454743437147534d34394177454841\
             30494142464c6d37657965572b707a0a625a595444374c4230753837653266396f6258345934445630496d52\
             646c5a78734f66704350387643567349422f6b7a57754433777539777548694c316a30640a2b4a734254357a\
             517438696a557a42524d423047413155644467515742425467566a7a6144644e55414376714b57736d723278\
             5871677675617a416642674e560a48534d454744415767425467566a7a6144644e55414376714b57736d7232\
             785871677675617a415042674e5648524d4241663845425441444151482f4d416f470a43437147534d343942\
             414d4341306b414d455943495143616d53514f487a2f3430796e4c502f6e6f664e334b5153496e52416a7547\
             506d576244762f562f58370a50674968414e5733384d714b4e375330767a6159724771715a6747424668414a\
             746269756747673877327a454b71784d0a2d2d2d2d2d454e442043455254494649434154452d2d2d2d2d0a12\
             fd010a07746c732e6b657912f1012d2d2d2d2d424547494e2050524956415445204b45592d2d2d2d2d0a4d49\
             4748416745414d424d4742797147534d34394167454743437147534d34394177454842473077617749424151\
             5167774d7744553077776c314569373779330a3869666635592f6b6372396b4e682b2b64556335454b354c6f\
             4a2b6852414e4341415253357533736e6c76716332325745772b7977644c764f33746e2f6147310a2b474f41\
             3164434a6b585a576362446e36516a2f4c776c62434166354d31726739384c76634c68346939593948666962\
             41552b63304c66490a2d2d2d2d2d454e442050524956415445204b45592d2d2d2d2d0a1a116b756265726e65\
             7465732e696f2f746c731a002200",
            r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"tls","creationTimestamp":null},"data":{"tls.crt":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJjRENDQVJXZ0F3SUJBZ0lVUVR4UkNTc0N6RXFXSC9XN2lSV2NaeVdDVTcwd0NnWUlLb1pJemowRUF3SXcKRFRFTE1Ba0dBMVVFQXd3Q1pYZ3dIaGNOTWpZeE1USXpNVGd5TWpVeFdoY05Nell4TVRJd01UZ3lNalV4V2pBTgpNUXN3Q1FZRFZRUUREQUpsZURCWk1CTUdCeXFHU000OUFnRUdDQ3FHU000OUF3RUhBMElBQkZMbTdleWVXK3B6CmJaWVREN0xCMHU4N2UyZjlvYlg0WTREVjBJbVJkbFp4c09mcENQOHZDVnNJQi9reld1RDN3dTl3dUhpTDFqMGQKK0pzQlQ1elF0OGlqVXpCUk1CMEdBMVVkRGdRV0JCVGdWanphRGROVUFDdnFLV3NtcjJ4WHFndnVhekFmQmdOVgpIU01FR0RBV2dCVGdWanphRGROVUFDdnFLV3NtcjJ4WHFndnVhekFQQmdOVkhSTUJBZjhFQlRBREFRSC9NQW9HCkNDcUdTTTQ5QkFNQ0Ewa0FNRVlDSVFDYW1TUU9Iei80MHluTFAvbm9mTjNLUVNJblJBanVHUG1XYkR2L1YvWDcKUGdJaEFOVzM4TXFLTjdTMHZ6YVlyR3FxWmdHQkZoQUp0Yml1Z0dnOHcyekVLcXhNCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K","tls.key":"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0hBZ0VBTUJNR0J5cUdTTTQ5QWdFR0NDcUdTTTQ5QXdFSEJHMHdhd0lCQVFRZ3dNd0RVMHd3bDFFaTc3eTMKOGlmZjVZL2tjcjlrTmgrK2RVYzVFSzVMb0oraFJBTkNBQVJTNXUzc25sdnFjMjJXRXcreXdkTHZPM3RuL2FHMQorR09BMWRDSmtYWldjYkRuNlFqL0x3bGJDQWY1TTFyZzk4THZjTGg0aTlZOUhmaWJBVStjMExmSQotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg=="},"type":"kubernetes.io/tls"}"#,
        ),
        (
            "kubectl create deployment web --image=nginx --replicas=2 --port=80",
            "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b8010a1f0a0377656212001a0022002a\
             003200380042005a0a0a0361707012037765621286010802120c0a0a0a0361707012037765621a6c0a1c0a00\
             12001a0022002a003200380042005a0a0a036170701203776562124c122e0a056e67696e7812056e67696e78\
             2a00320a0a001000185022002a0042006a007200800100880100900100a201001a00320042004a0052005800\
             600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200",
            r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","creationTimestamp":null,"labels":{"app":"web"}},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx","ports":[{"containerPort":80}],"resources":{}}]}},"strategy":{}},"status":{}}"#,
        ),
        (
            "kubectl create deployment multi --image=nginx --image=busybox:1.36 -n other",
            "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412e7010a280a056d756c746912001a056f\
             7468657222002a003200380042005a0c0a0361707012056d756c746912ac010801120e0a0c0a036170701205\
             6d756c74691a8f010a1e0a0012001a0022002a003200380042005a0c0a0361707012056d756c7469126d1222\
             0a056e67696e7812056e67696e782a0042006a007200800100880100900100a20100122b0a0762757379626f\
             78120c62757379626f783a312e33362a0042006a007200800100880100900100a201001a00320042004a0052\
             005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a0022\
             00",
            r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"multi","namespace":"other","creationTimestamp":null,"labels":{"app":"multi"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"multi"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"multi"}},"spec":{"containers":[{"name":"nginx","image":"nginx","resources":{}},{"name":"busybox","image":"busybox:1.36","resources":{}}]}},"strategy":{}},"status":{}}"#,
        ),
        (
            "kubectl create deployment cmd --image=busybox --port=8080 -- sleep 3600",
            "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412ca010a1f0a03636d6412001a0022002a\
             003200380042005a0a0a036170701203636d641298010801120c0a0a0a036170701203636d641a7e0a1c0a00\
             12001a0022002a003200380042005a0a0a036170701203636d64125e12400a0762757379626f781207627573\
             79626f781a05736c6565701a04333630302a00320b0a00100018903f22002a0042006a007200800100880100\
             900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c\
             0800100018002000280038001a002200",
            r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"cmd","creationTimestamp":null,"labels":{"app":"cmd"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"cmd"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"cmd"}},"spec":{"containers":[{"name":"busybox","image":"busybox","command":["sleep","3600"],"ports":[{"containerPort":8080}],"resources":{}}]}},"strategy":{}},"status":{}}"#,
        ),
        (
            "kubectl create deployment zero --image=nginx --replicas=0",
            "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412af010a210a047a65726f12001a002200\
             2a003200380042005a0b0a0361707012047a65726f127c0800120d0a0b0a0361707012047a65726f1a610a1d\
             0a0012001a0022002a003200380042005a0b0a0361707012047a65726f124012220a056e67696e7812056e67\
             696e782a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01\
             009a0100c2010022020a00280038001a0c0800100018002000280038001a002200",
            r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"zero","creationTimestamp":null,"labels":{"app":"zero"}},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"zero"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"zero"}},"spec":{"containers":[{"name":"nginx","image":"nginx","resources":{}}]}},"strategy":{}},"status":{}}"#,
        ),
        (
            "kubectl create service clusterip svc --tcp=80:8080",
            "6b3873000a0d0a02763112075365727669636512690a1f0a0373766312001a0022002a003200380042005a0a\
             0a03617070120373766312420a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a\
             0361707012037376631a002209436c757374657249503a00420052005a00600068001a020a001a002200",
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"svc","creationTimestamp":null,"labels":{"app":"svc"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080}],"selector":{"app":"svc"},"type":"ClusterIP"},"status":{"loadBalancer":{}}}"#,
        ),
        (
            "kubectl create service clusterip svc2 --tcp=80:http --tcp=443",
            "6b3873000a0d0a0276311207536572766963651289010a210a047376633212001a0022002a00320038004200\
             5a0b0a0361707012047376633212600a1e0a0738302d6874747012035443501850220a080110001a04687474\
             7028000a180a03343433120354435018bb032207080010bb031a002800120b0a036170701204737663321a00\
             2209436c757374657249503a00420052005a00600068001a020a001a002200",
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"svc2","creationTimestamp":null,"labels":{"app":"svc2"}},"spec":{"ports":[{"name":"80-http","protocol":"TCP","port":80,"targetPort":"http"},{"name":"443","protocol":"TCP","port":443,"targetPort":443}],"selector":{"app":"svc2"},"type":"ClusterIP"},"status":{"loadBalancer":{}}}"#,
        ),
        (
            "kubectl create service clusterip headless --clusterip=None",
            "6b3873000a0d0a027631120753657276696365125f0a290a08686561646c65737312001a0022002a00320038\
             0042005a0f0a036170701208686561646c657373122e120f0a036170701208686561646c6573731a044e6f6e\
             652209436c757374657249503a00420052005a00600068001a020a001a002200",
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"headless","creationTimestamp":null,"labels":{"app":"headless"}},"spec":{"selector":{"app":"headless"},"clusterIP":"None","type":"ClusterIP"},"status":{"loadBalancer":{}}}"#,
        ),
        (
            "kubectl create service nodeport np --tcp=80:8080 --node-port=30080",
            "6b3873000a0d0a02763112075365727669636512670a1d0a026e7012001a0022002a003200380042005a090a\
             0361707012026e7012420a1d0a0738302d38303830120354435018502207080010903f1a002880eb0112090a\
             0361707012026e701a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200",
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"np","creationTimestamp":null,"labels":{"app":"np"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080}],"selector":{"app":"np"},"type":"NodePort"},"status":{"loadBalancer":{}}}"#,
        ),
        (
            "kubectl create service loadbalancer lb --tcp=5678:8080",
            "6b3873000a0d0a027631120753657276696365126c0a1d0a026c6212001a0022002a003200380042005a090a\
             0361707012026c6212470a1e0a09353637382d38303830120354435018ae2c2207080010903f1a0028001209\
             0a0361707012026c621a00220c4c6f616442616c616e6365723a00420052005a00600068001a020a001a0022\
             00",
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"lb","creationTimestamp":null,"labels":{"app":"lb"}},"spec":{"ports":[{"name":"5678-8080","protocol":"TCP","port":5678,"targetPort":8080}],"selector":{"app":"lb"},"type":"LoadBalancer"},"status":{"loadBalancer":{}}}"#,
        ),
        (
            "kubectl create service externalname ex --external-name=example.com",
            "6b3873000a0d0a02763112075365727669636512570a1d0a02657812001a0022002a003200380042005a090a\
             0361707012026578123212090a03617070120265781a00220c45787465726e616c4e616d653a004200520b65\
             78616d706c652e636f6d5a00600068001a020a001a002200",
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"ex","creationTimestamp":null,"labels":{"app":"ex"}},"spec":{"selector":{"app":"ex"},"type":"ExternalName","externalName":"example.com"},"status":{"loadBalancer":{}}}"#,
        ),
        (
            "kubectl create serviceaccount sa",
            "6b3873000a140a027631120e536572766963654163636f756e7412140a120a02736112001a0022002a003200\
             380042001a002200",
            r#"{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"sa","creationTimestamp":null}}"#,
        ),
        (
            "kubectl create role r --verb=get,list --resource=pods,deployments.apps --resource-name=x",
            "6b3873000a240a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311204526f6c65124e\
             0a110a017212001a0022002a0032003800420012160a036765740a046c69737412001a04706f647322017812\
             210a036765740a046c6973741204617070731a0b6465706c6f796d656e74732201781a002200",
            r#"{"kind":"Role","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"r","creationTimestamp":null},"rules":[{"verbs":["get","list"],"apiGroups":[""],"resources":["pods"],"resourceNames":["x"]},{"verbs":["get","list"],"apiGroups":["apps"],"resources":["deployments"],"resourceNames":["x"]}]}"#,
        ),
        (
            "kubectl create rolebinding rb --role=r --user=u --group=g --serviceaccount=default:sa",
            "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b526f6c654269\
             6e64696e6712ac010a120a02726212001a0022002a0032003800420012260a04557365721219726261632e61\
             7574686f72697a6174696f6e2e6b38732e696f1a0175220012270a0547726f75701219726261632e61757468\
             6f72697a6174696f6e2e6b38732e696f1a01672200121f0a0e536572766963654163636f756e7412001a0273\
             61220764656661756c741a240a19726261632e617574686f72697a6174696f6e2e6b38732e696f1204526f6c\
             651a01721a002200",
            r#"{"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"rb","creationTimestamp":null},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"u"},{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"g"},{"kind":"ServiceAccount","name":"sa","namespace":"default"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"}}"#,
        ),
        (
            "kubectl create rolebinding rbc --clusterrole=view --user=u",
            "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b526f6c654269\
             6e64696e67126d0a130a0372626312001a0022002a0032003800420012260a04557365721219726261632e61\
             7574686f72697a6174696f6e2e6b38732e696f1a017522001a2e0a19726261632e617574686f72697a617469\
             6f6e2e6b38732e696f120b436c7573746572526f6c651a04766965771a002200",
            r#"{"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"rbc","creationTimestamp":null},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"u"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"}}"#,
        ),
        (
            "kubectl create clusterrole cr --verb=get --resource=pods,deployments.apps --non-resource-url=/logs/*",
            "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b436c75737465\
             72526f6c65124d0a120a02637212001a0022002a00320038004200120d0a0367657412001a04706f64731218\
             0a036765741204617070731a0b6465706c6f796d656e7473120e0a036765742a072f6c6f67732f2a1a002200",
            r#"{"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"cr","creationTimestamp":null},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]},{"verbs":["get"],"apiGroups":["apps"],"resources":["deployments"]},{"verbs":["get"],"nonResourceURLs":["/logs/*"]}]}"#,
        ),
        (
            "kubectl create clusterrole agg --aggregation-rule=rbac.example.com/aggregate-to-monitoring=true",
            "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b436c75737465\
             72526f6c65124b0a130a0361676712001a0022002a003200380042001a340a320a300a28726261632e657861\
             6d706c652e636f6d2f6167677265676174652d746f2d6d6f6e69746f72696e671204747275651a002200",
            r#"{"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"agg","creationTimestamp":null},"rules":null,"aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"rbac.example.com/aggregate-to-monitoring":"true"}}]}}"#,
        ),
        (
            "kubectl create clusterrolebinding crb --clusterrole=cr --user=u --group=g --serviceaccount=kube-system:default",
            "6b3873000a320a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311212436c75737465\
             72526f6c6542696e64696e6712be010a130a0363726212001a0022002a0032003800420012260a0455736572\
             1219726261632e617574686f72697a6174696f6e2e6b38732e696f1a0175220012270a0547726f7570121972\
             6261632e617574686f72697a6174696f6e2e6b38732e696f1a0167220012280a0e536572766963654163636f\
             756e7412001a0764656661756c74220b6b7562652d73797374656d1a2c0a19726261632e617574686f72697a\
             6174696f6e2e6b38732e696f120b436c7573746572526f6c651a0263721a002200",
            r#"{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"crb","creationTimestamp":null},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"u"},{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"g"},{"kind":"ServiceAccount","name":"default","namespace":"kube-system"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cr"}}"#,
        ),
        (
            "kubectl create job j --image=busybox -- echo hi",
            "6b3873000a0f0a0862617463682f763112034a6f621282010a110a016a12001a0022002a0032003800420012\
             6332610a100a0012001a0022002a00320038004200124d122a0a016a120762757379626f781a046563686f1a\
             0268692a0042006a007200800100880100900100a201001a054e65766572320042004a005200580060006800\
             8201008a01009a0100c201001a082000280030003a001a002200",
            r#"{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"j","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"j","image":"busybox","command":["echo","hi"],"resources":{}}],"restartPolicy":"Never"}}},"status":{}}"#,
        ),
        (
            "kubectl create cronjob cj --image=busybox '--schedule=*/1 * * * *' --restart=OnFailure -- date",
            "6b3873000a130a0862617463682f7631120743726f6e4a6f6212a4010a120a02636a12001a0022002a003200\
             38004200128b010a0b2a2f31202a202a202a202a1a002a7a0a120a02636a12001a0022002a00320038004200\
             126432620a100a0012001a0022002a00320038004200124e12270a02636a120762757379626f781a04646174\
             652a0042006a007200800100880100900100a201001a094f6e4661696c757265320042004a00520058006000\
             68008201008a01009a0100c201001a001a002200",
            r#"{"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"cj","creationTimestamp":null},"spec":{"schedule":"*/1 * * * *","jobTemplate":{"metadata":{"name":"cj","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"cj","image":"busybox","command":["date"],"resources":{}}],"restartPolicy":"OnFailure"}}}}},"status":{}}"#,
        ),
        (
            "kubectl create quota q --hard=cpu=1,memory=1G,pods=2,services.loadbalancers=0 --scopes=BestEffort",
            "6b3873000a130a027631120d5265736f7572636551756f7461126b0a110a017112001a0022002a0032003800\
             420012540a0a0a0363707512030a01310a0e0a066d656d6f727912040a0231470a0b0a04706f647312030a01\
             320a1d0a1673657276696365732e6c6f616462616c616e6365727312030a0130120a426573744566666f7274\
             1a001a002200",
            r#"{"kind":"ResourceQuota","apiVersion":"v1","metadata":{"name":"q","creationTimestamp":null},"spec":{"hard":{"cpu":"1","memory":"1G","pods":"2","services.loadbalancers":"0"},"scopes":["BestEffort"]},"status":{}}"#,
        ),
        (
            "kubectl create priorityclass pc --value=1000 --description=high --preemption-policy=Never",
            "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479436c61737312\
             260a120a02706312001a0022002a0032003800420010e80718002204686967682a054e657665721a002200",
            r#"{"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{"name":"pc","creationTimestamp":null},"value":1000,"description":"high","preemptionPolicy":"Never"}"#,
        ),
        (
            "kubectl create priorityclass pcd --value=7 --global-default=true",
            "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479436c61737312\
             310a130a0370636412001a0022002a003200380042001007180122002a14507265656d70744c6f7765725072\
             696f726974791a002200",
            r#"{"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{"name":"pcd","creationTimestamp":null},"value":7,"globalDefault":true,"preemptionPolicy":"PreemptLowerPriority"}"#,
        ),
        (
            "kubectl create poddisruptionbudget pdb --selector=app=x --min-available=1",
            "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e42756467657412370a130a03\
             70646212001a0022002a0032003800420012140a06080010011a00120a0a080a036170701201781a0a080018\
             002000280030001a002200",
            r#"{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb","creationTimestamp":null},"spec":{"minAvailable":1,"selector":{"matchLabels":{"app":"x"}}},"status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}}"#,
        ),
        (
            "kubectl create poddisruptionbudget pdb2 '--selector=app=y,tier in (a,b)' --max-unavailable=50%",
            "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e427564676574124d0a140a04\
             7064623212001a0022002a003200380042001229121c0a080a0361707012017912100a04746965721202496e\
             1a01611a01621a09080110001a033530251a0a080018002000280030001a002200",
            r#"{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb2","creationTimestamp":null},"spec":{"selector":{"matchLabels":{"app":"y"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]},"maxUnavailable":"50%"},"status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}}"#,
        ),
        (
            "kubectl create ingress ing --class=nginx '--rule=foo.com/bar*=svc1:8080,tls=my-cert' --rule=/path=svc2:http --annotation=a=b --default-backend=defsvc:80",
            "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e677265737312ad010a1b0a03\
             696e6712001a0022002a0032003800420062060a01611201621289010a10220e0a0664656673766312040a00\
             105012120a07666f6f2e636f6d12076d792d636572741a2e0a07666f6f2e636f6d12230a210a1f0a042f6261\
             72120f220d0a047376633112050a0010903f1a065072656669781a2a0a0012260a240a220a052f7061746812\
             1222100a047376633212080a046874747010001a05457861637422056e67696e781a020a001a002200",
            r#"{"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{"name":"ing","creationTimestamp":null,"annotations":{"a":"b"}},"spec":{"ingressClassName":"nginx","defaultBackend":{"service":{"name":"defsvc","port":{"number":80}}},"tls":[{"hosts":["foo.com"],"secretName":"my-cert"}],"rules":[{"host":"foo.com","http":{"paths":[{"path":"/bar","pathType":"Prefix","backend":{"service":{"name":"svc1","port":{"number":8080}}}}]}},{"http":{"paths":[{"path":"/path","pathType":"Exact","backend":{"service":{"name":"svc2","port":{"name":"http"}}}}]}}]},"status":{"loadBalancer":{}}}"#,
        ),
        (
            "kubectl create token sa --duration=10m --audience=aud --bound-object-kind=Pod --bound-object-name=p --bound-object-uid=123  (no --dry-run: expected JSON written by hand)",
            "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e5265717565\
             737412350a100a0012001a0022002a00320038004200121b0a036175641a110a03506f64120276311a017022\
             0331323320d8041a040a0012001a002200",
            r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","metadata":{"creationTimestamp":null},"spec":{"audiences":["aud"],"expirationSeconds":600,"boundObjectRef":{"kind":"Pod","apiVersion":"v1","name":"p","uid":"123"}},"status":{"token":"","expirationTimestamp":null}}"#,
        ),
        (
            "kubectl autoscale deployment web --min=2 --max=5 --cpu-percent=80",
            "6b3873000a290a0e6175746f7363616c696e672f76321217486f72697a6f6e74616c506f644175746f736361\
             6c657212610a130a0377656212001a0022002a0032003800420012440a1a0a0a4465706c6f796d656e741203\
             7765621a07617070732f76311002180522220a085265736f7572636522160a03637075120f0a0b5574696c69\
             7a6174696f6e20501a04180020001a002200",
            r#"{"kind":"HorizontalPodAutoscaler","apiVersion":"autoscaling/v2","metadata":{"name":"web","creationTimestamp":null},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web","apiVersion":"apps/v1"},"minReplicas":2,"maxReplicas":5,"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}}]},"status":{"desiredReplicas":0,"currentMetrics":null}}"#,
        ),
        (
            "kubectl create job manual --from=cronjob/cj",
            "6b3873000a0f0a0862617463682f763112034a6f6212ff010a8c010a066d616e75616c12001a0022002a0032\
             00380042005a060a016a120174622b0a2163726f6e6a6f622e6b756265726e657465732e696f2f696e737461\
             6e746961746512066d616e75616c6a3f0a0743726f6e4a6f621a02636a222436363636363636362d37373737\
             2d383838382d393939392d3030303030303030303030302a0862617463682f76313001126432620a100a0012\
             001a0022002a00320038004200124e12270a02636a120762757379626f781a04646174652a0042006a007200\
             800100880100900100a201001a094f6e4661696c757265320042004a0052005800600068008201008a01009a\
             0100c201001a082000280030003a001a002200",
            r#"{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"manual","creationTimestamp":null,"labels":{"j":"t"},"annotations":{"cronjob.kubernetes.io/instantiate":"manual"},"ownerReferences":[{"apiVersion":"batch/v1","kind":"CronJob","name":"cj","uid":"66666666-7777-8888-9999-000000000000","controller":true}]},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"cj","image":"busybox","command":["date"],"resources":{}}],"restartPolicy":"OnFailure"}}},"status":{}}"#,
        ),
    ];
